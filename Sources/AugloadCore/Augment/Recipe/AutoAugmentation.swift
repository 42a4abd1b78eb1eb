#if canImport(Glibc)
    import Glibc
#endif

/// The AutoAugment family of torchvision.transforms.v2 — `TrivialAugmentWide`, `RandAugment`,
/// `AutoAugment(IMAGENET)` and `AugMix` — as one recipe step: the same operation spaces, magnitude
/// bins and draws, from the sample's random stream, with black fill and torchvision's default
/// sampling (nearest; AugMix's bilinear).
///
/// torchvision draws with `torch.randint`/`torch.rand` and builds magnitudes with float32
/// `torch.linspace`; here the same distributions come from ``SampleRandom`` and the magnitudes
/// from ``linspace(_:_:_:)``, which repeats torch's float32 arithmetic.
///
///     let step = AutoAugmentation(.trivialAugmentWide())
///     let ops = step.draw(width: 176, height: 176, random: &random)   // e.g. [.rotate(angle: -31.5)]
public struct AutoAugmentation: RecipeStep, Hashable, Codable {
    /// Which policy, with its parameters.
    public enum Policy: Hashable, Codable, Sendable {
        /// One operation per image, uniform over the wide space and its magnitude bins.
        case trivialAugmentWide(bins: Int = 31)
        /// `ops` operations per image, uniform over the space, each at bin `magnitude` of `bins`.
        case randAugment(ops: Int = 2, magnitude: Int = 9, bins: Int = 31)
        /// One of the 25 ImageNet sub-policies (two operations, each with its probability).
        case autoAugmentImageNet
        /// AugMix with all operations and bilinear sampling: `width` chains of `depth` operations
        /// (1...3 drawn per chain when `depth` < 1) at bins below `severity`, mixed by Dirichlet(α) weights.
        case augMix(severity: Int = 3, width: Int = 3, depth: Int = -1, alpha: Double = 1)
    }

    /// The policy.
    public var policy: Policy

    /// A step running `policy`.
    public init(_ policy: Policy) {
        switch policy {
        case .trivialAugmentWide(let bins): precondition(bins >= 2, "bins must be at least 2")
        case .randAugment(let ops, let magnitude, let bins):
            precondition(ops >= 0 && bins >= 2 && (0..<bins).contains(magnitude), "RandAugment parameters out of range")
        case .autoAugmentImageNet: break
        case .augMix(let severity, let width, _, let alpha):
            precondition((1...10).contains(severity) && width >= 1 && alpha > 0, "AugMix parameters out of range")
        }
        self.policy = policy
    }

    /// An operation of a space: its name (torchvision's) and whether its magnitude's sign is drawn.
    enum Kind: String, CaseIterable, Sendable {
        case identity = "Identity"
        case shearX = "ShearX"
        case shearY = "ShearY"
        case translateX = "TranslateX"
        case translateY = "TranslateY"
        case rotate = "Rotate"
        case brightness = "Brightness"
        case color = "Color"
        case contrast = "Contrast"
        case sharpness = "Sharpness"
        case posterize = "Posterize"
        case solarize = "Solarize"
        case autoContrast = "AutoContrast"
        case equalize = "Equalize"
        case invert = "Invert"

        var signed: Bool {
            switch self {
            case .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness: true
            default: false
            }
        }
    }

    /// TrivialAugmentWide's and RandAugment's spaces, in torchvision's dictionary order (the
    /// draw picks an index into it). AutoAugment names its operations in its sub-policies.
    static let spaceOrder: [Kind] = [
        .identity, .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness,
        .posterize, .solarize, .autoContrast, .equalize,
    ]

    /// AutoAugment's ImageNet sub-policies: (operation, probability, magnitude bin of 10).
    static let imageNet: [[(Kind, Double, Int?)]] = [
        [(.posterize, 0.4, 8), (.rotate, 0.6, 9)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, nil)],
        [(.equalize, 0.8, nil), (.equalize, 0.6, nil)], [(.posterize, 0.6, 7), (.posterize, 0.6, 6)],
        [(.equalize, 0.4, nil), (.solarize, 0.2, 4)], [(.equalize, 0.4, nil), (.rotate, 0.8, 8)],
        [(.solarize, 0.6, 3), (.equalize, 0.6, nil)], [(.posterize, 0.8, 5), (.equalize, 1.0, nil)],
        [(.rotate, 0.2, 3), (.solarize, 0.6, 8)], [(.equalize, 0.6, nil), (.posterize, 0.4, 6)],
        [(.rotate, 0.8, 8), (.color, 0.4, 0)], [(.rotate, 0.4, 9), (.equalize, 0.6, nil)],
        [(.equalize, 0.0, nil), (.equalize, 0.8, nil)], [(.invert, 0.6, nil), (.equalize, 1.0, nil)],
        [(.color, 0.6, 4), (.contrast, 1.0, 8)], [(.rotate, 0.8, 8), (.color, 1.0, 2)],
        [(.color, 0.8, 8), (.solarize, 0.8, 7)], [(.sharpness, 0.4, 7), (.invert, 0.6, nil)],
        [(.shearX, 0.6, 5), (.equalize, 1.0, nil)], [(.color, 0.4, 0), (.equalize, 0.6, nil)],
        [(.equalize, 0.4, nil), (.solarize, 0.2, 4)], [(.solarize, 0.6, 5), (.autoContrast, 0.6, nil)],
        [(.invert, 0.6, nil), (.equalize, 1.0, nil)], [(.color, 0.6, 4), (.contrast, 1.0, 8)],
        [(.equalize, 0.8, nil), (.equalize, 0.6, nil)],
    ]

    /// `torch.linspace(start, end, steps)` in float32: the first half counts up from `start`, the
    /// second half down from `end`, with a float32 step and each multiply-add rounded once (as
    /// torch's kernel, fused); checked against torch for every table the policies use.
    static func linspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return [start] }
        let step = Double((end - start) / Float(steps - 1))
        let half = steps / 2
        return (0..<steps).map { i in
            i < half ? Float(Double(start) + step * Double(i)) : Float(Double(end) - step * Double(steps - i - 1))
        }
    }

    /// The magnitudes of `kind` in the space of this policy, or nil for an operation without one.
    func magnitudes(_ kind: Kind, bins: Int, width: Int, height: Int) -> [Float]? {
        let wide: Bool
        if case .trivialAugmentWide = policy { wide = true } else { wide = false }
        switch kind {
        case .identity, .autoContrast, .equalize, .invert: return nil
        case .shearX, .shearY: return Self.linspace(0, wide ? 0.99 : 0.3, bins)
        case .translateX: return Self.linspace(0, wide ? 32 : Float(150.0 / 331.0 * Double(width)), bins)
        case .translateY: return Self.linspace(0, wide ? 32 : Float(150.0 / 331.0 * Double(height)), bins)
        case .rotate: return Self.linspace(0, wide ? 135 : 30, bins)
        case .brightness, .color, .contrast, .sharpness: return Self.linspace(0, wide ? 0.99 : 0.9, bins)
        case .posterize:
            // 8 - (arange(bins) / ((bins - 1) / steps)).round(): float32 division, half to even.
            let divisor = Float(Double(bins - 1) / (wide ? 6 : 4))
            return (0..<bins).map { 8 - (Float($0) / divisor).rounded(.toNearestOrEven) }
        case .solarize: return Self.linspace(1, 0, bins)
        }
    }

    /// The operation torchvision's `_apply_image_or_video_transform` runs for `kind` at `magnitude`.
    static func operation(_ kind: Kind, magnitude m: Double, bilinear b: Bool = false) -> RecipeOp? {
        switch kind {
        case .identity: return nil
        case .shearX:
            return .affine(angle: 0, translateX: 0, translateY: 0, shearX: degrees(atan(m)), shearY: 0, topLeftCenter: true, bilinear: b)
        case .shearY:
            return .affine(angle: 0, translateX: 0, translateY: 0, shearX: 0, shearY: degrees(atan(m)), topLeftCenter: true, bilinear: b)
        case .translateX:
            return .affine(angle: 0, translateX: Int(m), translateY: 0, shearX: 0, shearY: 0, topLeftCenter: false, bilinear: b)
        case .translateY:
            return .affine(angle: 0, translateX: 0, translateY: Int(m), shearX: 0, shearY: 0, topLeftCenter: false, bilinear: b)
        case .rotate: return .rotate(angle: m, bilinear: b)
        case .brightness: return .brightness(1 + m)
        case .color: return .saturation(1 + m)
        case .contrast: return .contrast(1 + m)
        case .sharpness: return .sharpness(1 + m)
        case .posterize: return .posterize(bits: Int(m))
        case .solarize: return .solarize(threshold: 255 * m)
        case .autoContrast: return .autocontrast
        case .equalize: return .equalize
        case .invert: return .invert
        }
    }

    static func degrees(_ radians: Double) -> Double { radians * 180 / Double.pi }

    /// The magnitude at `bin`, its sign drawn for a signed operation (`rand() <= 0.5` flips it).
    func magnitude(_ kind: Kind, bin: Int?, bins: Int, width: Int, height: Int, random: inout SampleRandom) -> Double {
        guard let values = magnitudes(kind, bins: bins, width: width, height: height), let bin else { return 0 }
        var m = Double(values[bin])
        if kind.signed && random.nextUnit() <= 0.5 { m = -m }
        return m
    }

    public func draw(width: Int, height: Int, random: inout SampleRandom) -> [RecipeOp] {
        var ops: [RecipeOp] = []
        switch policy {
        case .trivialAugmentWide(let bins):
            let kind = Self.spaceOrder[random.nextInt(below: Self.spaceOrder.count)]
            let bin = magnitudes(kind, bins: bins, width: width, height: height) == nil ? nil : random.nextInt(below: bins)
            let m = magnitude(kind, bin: bin, bins: bins, width: width, height: height, random: &random)
            ops += Self.operation(kind, magnitude: m).map { [$0] } ?? []
        case .randAugment(let count, let level, let bins):
            for _ in 0..<count {
                let kind = Self.spaceOrder[random.nextInt(below: Self.spaceOrder.count)]
                let m = magnitude(kind, bin: level, bins: bins, width: width, height: height, random: &random)
                ops += Self.operation(kind, magnitude: m).map { [$0] } ?? []
            }
        case .augMix(let severity, let chains, let depth, let alpha):
            ops.append(
                .augMix(
                    Self.drawAugMix(
                        severity: severity, width: chains, depth: depth, alpha: alpha, imageWidth: width, imageHeight: height,
                        random: &random)))
        case .autoAugmentImageNet:
            let subPolicy = Self.imageNet[random.nextInt(below: Self.imageNet.count)]
            for (kind, probability, bin) in subPolicy {
                guard random.nextUnit() <= probability else { continue }
                let m = magnitude(kind, bin: bin, bins: 10, width: width, height: height, random: &random)
                ops += Self.operation(kind, magnitude: m).map { [$0] } ?? []
            }
        }
        return ops
    }
}
