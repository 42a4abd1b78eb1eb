#if canImport(Glibc)
    import Glibc
#endif

/// MixUp and CutMix, as `torchvision.transforms.v2.MixUp` / `CutMix` define them, on a finished
/// float32 batch; and the float32 targets they (and label smoothing) make of its class indices.
///
/// Per batch: with probability `probability` the batch is mixed; with both methods on, MixUp or
/// CutMix is chosen 50/50 (torchvision's reference scripts' `RandomChoice`). λ is drawn from
/// Beta(α, α); each image is paired with the one before it (the batch rolled by one:
/// `batch.roll(1, 0)`, the first paired with the last).
///
/// - MixUp: `image·λ + partner·(1 − λ)`, in float32 with the two products rounded before the sum,
///   as torchvision's `batch.mul_(λ).add_(rolled.mul_(1 − λ))`; targets alike.
/// - CutMix: a centre drawn uniformly in the image, a box of half-sides `⌊½√(1 − λ)·W⌋` ×
///   `⌊½√(1 − λ)·H⌋` around it, clipped; the partner's pixels are copied into the box and the
///   targets mixed with λ corrected to the box's true area, `1 − box/(W·H)`.
///
/// Every draw comes from (seed, epoch, batch index) alone, so a batch is the same bytes for any
/// worker count and after a resume; ``explain()`` names the draws for a replay in torchvision.
public struct BatchMix: Sendable, Equatable {
    /// Which mix a batch got.
    public enum Kind: String, Sendable {
        case mixup, cutmix
    }

    /// The method, or nil when the batch is not mixed (its targets are still one-hot, smoothed).
    public var kind: Kind?
    /// The λ drawn from Beta(α, α).
    public var lambda: Double = 1
    /// CutMix's box `(x1, y1, x2, y2)`, pixels `x1..<x2`, `y1..<y2` taken from the partner.
    public var box: (x1: Int, y1: Int, x2: Int, y2: Int)? = nil
    /// The weight of each sample's own label: λ for MixUp, the box-corrected λ for CutMix, 1 unmixed.
    public var labelLambda: Double = 1

    /// An unmixed batch (draws come from ``draw(mixup:cutmix:probability:random:width:height:)``).
    public init() {}

    public static func == (a: BatchMix, b: BatchMix) -> Bool {
        a.kind == b.kind && a.lambda == b.lambda && a.labelLambda == b.labelLambda && a.box?.x1 == b.box?.x1
            && a.box?.y1 == b.box?.y1 && a.box?.x2 == b.box?.x2 && a.box?.y2 == b.box?.y2
    }

    /// The mix of one batch: `mixup`/`cutmix` are the α of each (0: off), `probability` the chance
    /// the batch is mixed at all; `width × height` the images' size.
    public static func draw(
        mixup: Double, cutmix: Double, probability: Double, random: inout SampleRandom, width: Int, height: Int
    ) -> BatchMix {
        var mix = BatchMix()
        guard mixup > 0 || cutmix > 0 else { return mix }
        let mixed = random.nextUnit() < probability
        let useMixUp = mixup > 0 && cutmix > 0 ? random.nextUnit() < 0.5 : mixup > 0
        let lambda = random.nextBeta(useMixUp ? mixup : cutmix)
        guard mixed else { return mix }
        mix.lambda = lambda
        if useMixUp {
            mix.kind = .mixup
            mix.labelLambda = lambda
            return mix
        }
        mix.kind = .cutmix
        let rx = random.nextInt(below: width)
        let ry = random.nextInt(below: height)
        let r = 0.5 * (1.0 - lambda).squareRoot()
        let halfW = Int(r * Double(width))
        let halfH = Int(r * Double(height))
        let box = (x1: max(rx - halfW, 0), y1: max(ry - halfH, 0), x2: min(rx + halfW, width), y2: min(ry + halfH, height))
        mix.box = box
        mix.labelLambda = 1.0 - Double((box.x2 - box.x1) * (box.y2 - box.y1)) / Double(width * height)
        return mix
    }

    /// Mixes `count` images of `width × height × 3` floats at `images` in place (layout NCHW when
    /// `channelsFirst`); `scratch` holds a copy of one image.
    public func apply(
        to images: UnsafeMutablePointer<Float>, count: Int, width: Int, height: Int, channelsFirst: Bool,
        scratch: inout [Float]
    ) {
        guard let kind, count > 1 else { return }
        let plane = width * height * 3
        // The roll pairs image i with image i − 1: walking down, i − 1 is still unmixed; image 0's
        // partner, the last image, is kept first.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: images + (count - 1) * plane, count: plane))
        let own = Float(lambda)
        let other = Float(1.0 - lambda)
        scratch.withUnsafeBufferPointer { last in
            for i in stride(from: count - 1, through: 0, by: -1) {
                let target = images + i * plane
                let partner = i > 0 ? UnsafePointer(images + (i - 1) * plane) : last.baseAddress!
                switch kind {
                case .mixup:
                    for k in 0..<plane {
                        let a = target[k] * own
                        let b = partner[k] * other
                        target[k] = a + b
                    }
                case .cutmix:
                    copyBox(from: partner, to: target, width: width, height: height, channelsFirst: channelsFirst)
                }
            }
        }
    }

    private func copyBox(
        from partner: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, width: Int, height: Int,
        channelsFirst: Bool
    ) {
        guard let box, box.x2 > box.x1, box.y2 > box.y1 else { return }
        let run = box.x2 - box.x1
        if channelsFirst {
            for c in 0..<3 {
                for y in box.y1..<box.y2 {
                    let at = (c * height + y) * width + box.x1
                    (target + at).update(from: partner + at, count: run)
                }
            }
        } else {
            for y in box.y1..<box.y2 {
                let at = (y * width + box.x1) * 3
                (target + at).update(from: partner + at, count: run * 3)
            }
        }
    }

    /// Writes the float32 targets of `labels` into `targets` (`labels.count × classes`, row-major):
    /// one-hot, smoothed by `smoothing` (`1 − ε + ε/C` on the class, `ε/C` elsewhere), then mixed
    /// with the rolled rows by ``labelLambda`` as the images were.
    public func targets(
        labels: [Int32], classes: Int, smoothing: Double, into targets: UnsafeMutableBufferPointer<Float>
    ) {
        let off = Float(smoothing / Double(classes))
        let on = Float(1.0 - smoothing + smoothing / Double(classes))
        let n = labels.count
        func value(_ row: Int, _ c: Int) -> Float { Int(labels[row]) == c ? on : off }
        let own = Float(labelLambda)
        let other = Float(1.0 - labelLambda)
        for i in 0..<n {
            let partner = (i + n - 1) % n
            for c in 0..<classes {
                if kind == nil || n == 1 {
                    targets[i * classes + c] = value(i, c)
                } else {
                    let a = value(i, c) * own
                    let b = value(partner, c) * other
                    targets[i * classes + c] = a + b
                }
            }
        }
    }

    /// The draws as `torchvision.transforms.v2` would need them to replay the batch.
    public func explain(count: Int, classes: Int, smoothing: Double) -> [String: ExplainValue] {
        var record: [String: ExplainValue] = [
            "op": kind.map { .text($0.rawValue) } ?? .null,
            "lambda": .number(lambda),
            "label_lambda": .number(labelLambda),
            "partner": .list((0..<count).map { .integer(($0 + count - 1) % count) }),
            "num_classes": .integer(classes),
            "label_smoothing": .number(smoothing),
        ]
        if let box { record["box"] = .list([box.x1, box.y1, box.x2, box.y2].map { .integer($0) }) }
        return record
    }
}

extension RandomStream {
    /// The batch-level mix (MixUp/CutMix), keyed with the batch index as the sample.
    public static let mix: UInt64 = 4
}
