#if canImport(Glibc)
    import Glibc
#endif

/// One step of an augmentation pipeline. Implement it to add your own.
///
/// A step that only moves pixels around (crop, resize, flip) implements ``plan(_:random:)`` and
/// returns `true`: the pipeline then folds it into a ``Geometry`` realised once, decoding only the
/// region it needs. A step that changes pixel values implements ``apply(to:random:)``.
/// Randomness must come from `random`, the sample's own generator, so results are the same
/// whichever worker computes them.
///
///     struct Invert: Augmentation {
///         func apply(to image: inout Image, random: inout SampleRandom) {
///             for i in image.pixels.indices { image.pixels[i] = 255 - image.pixels[i] }
///         }
///     }
public protocol Augmentation: Sendable {
    /// Folds this step into `geometry` and returns `true`, or returns `false` (the default) when the
    /// step must see pixels. Must draw the same random numbers whichever path is taken.
    func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool

    /// Applies the step to pixels.
    func apply(to image: inout Image, random: inout SampleRandom)

    /// True when the step's result depends only on its input: it draws no random numbers and does
    /// the same thing in every epoch. The leading deterministic steps of a pipeline form its
    /// *deterministic prefix*, whose result the decoded cache may store once and reuse (see
    /// ``Pipeline/deterministicPrefixCount``). Default `false`, so a user step is never cached
    /// unless it says so.
    var isDeterministic: Bool { get }
}

extension Augmentation {
    /// Default: returns `false`, so the step is applied to pixels with ``apply(to:random:)``.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool { false }

    /// Default: `false` (the step may be random).
    public var isDeterministic: Bool { false }
}

/// A geometric step: applied to pixels by planning on the image's own size and realising.
public protocol GeometricAugmentation: Augmentation {}

extension GeometricAugmentation {
    /// Plans the step on the image's own size and realises the plan on its pixels.
    public func apply(to image: inout Image, random: inout SampleRandom) {
        var g = Geometry(sourceWidth: image.width, sourceHeight: image.height)
        _ = plan(&g, random: &random)
        var resampler = Resampler()
        image = GeometryRealizer.realize(g, from: image, resampler: &resampler)
    }
}

/// Mirrors the image horizontally and/or vertically, each with a probability.
public struct Flip: GeometricAugmentation, Hashable, Codable {
    /// Probability in [0, 1] of mirroring left↔right.
    public var horizontal: Double
    /// Probability in [0, 1] of mirroring top↔bottom.
    public var vertical: Double

    /// - Parameters: probabilities in [0, 1] of mirroring left↔right and top↔bottom.
    public init(horizontal: Double = 0.5, vertical: Double = 0) {
        precondition((0...1).contains(horizontal) && (0...1).contains(vertical), "flip probabilities must be in [0, 1]")
        self.horizontal = horizontal
        self.vertical = vertical
    }

    /// Toggles each mirror with its probability; always returns `true`.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool {
        if random.nextBool(probability: horizontal) { geometry.flipH.toggle() }
        if random.nextBool(probability: vertical) { geometry.flipV.toggle() }
        return true
    }
}

/// Resizes to a fixed size, or so that the shorter side has a given length (torchvision's
/// `Resize(int)`: the longer side becomes `int(size * long / short)`).
public struct Resize: GeometricAugmentation, Hashable, Codable {
    /// A fixed output size, or the length of the shorter side.
    public enum Target: Hashable, Codable, Sendable {
        case size(width: Int, height: Int)
        case shorterSide(Int)
    }
    /// What to resize to.
    public var target: Target

    /// Resizes to exactly `width × height` pixels (both positive).
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "resize size must be positive, got \(width)x\(height)")
        target = .size(width: width, height: height)
    }

    /// Resizes so the shorter side is `shorterSide` pixels, keeping the aspect ratio.
    public init(shorterSide: Int) {
        precondition(shorterSide > 0, "shorter side must be positive, got \(shorterSide)")
        target = .shorterSide(shorterSide)
    }

    /// `true`: a resize draws nothing.
    public var isDeterministic: Bool { true }

    /// Resizes `geometry` to the target; always returns `true`.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool {
        switch target {
        case .size(let w, let h):
            geometry.resize(width: w, height: h)
        case .shorterSide(let s):
            let (w, h) = (geometry.width, geometry.height)
            if w <= h {
                geometry.resize(width: s, height: max(1, Int(Double(s) * Double(h) / Double(w))))
            } else {
                geometry.resize(width: max(1, Int(Double(s) * Double(w) / Double(h))), height: s)
            }
        }
        return true
    }
}

/// Crops a `width × height` window at the centre (torchvision's `CenterCrop`, Python rounding).
public struct CenterCrop: GeometricAugmentation, Hashable, Codable {
    /// The crop size in pixels.
    public var width: Int, height: Int

    /// Creates a centre crop of `width × height` pixels (both positive).
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "crop size must be positive")
        self.width = width
        self.height = height
    }

    /// `true`: a centre crop draws nothing.
    public var isDeterministic: Bool { true }

    /// Crops the centre of `geometry`; always returns `true`.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool {
        let top = Int((Double(geometry.height - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(geometry.width - width) / 2).rounded(.toNearestOrEven))
        geometry.crop(x: left, y: top, width: width, height: height)
        return true
    }
}

/// Crops a `width × height` window at a uniformly random position (torchvision's `RandomCrop`).
/// A window larger than the image is centred, and the outside is black.
public struct RandomCrop: GeometricAugmentation, Hashable, Codable {
    /// The crop size in pixels.
    public var width: Int, height: Int

    /// Creates a random crop of `width × height` pixels (both positive).
    public init(width: Int, height: Int) {
        precondition(width > 0 && height > 0, "crop size must be positive")
        self.width = width
        self.height = height
    }

    /// Crops `geometry` at a random position; always returns `true`.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool {
        let slackY = geometry.height - height
        let slackX = geometry.width - width
        let top = slackY >= 0 ? random.nextInt(below: slackY + 1) : slackY / 2
        let left = slackX >= 0 ? random.nextInt(below: slackX + 1) : slackX / 2
        geometry.crop(x: left, y: top, width: width, height: height)
        return true
    }
}

/// A crop of random area and aspect ratio, resized to `width × height` (torchvision's
/// `RandomResizedCrop`: ten tries at `scale` × area and log-uniform `ratio`, then a centre crop
/// clamped to the ratio range).
public struct RandomResizedCrop: GeometricAugmentation, Hashable, Codable {
    /// The output size in pixels.
    public var width: Int, height: Int
    /// Range of the crop's area as a fraction of the image's area (default 0.08...1).
    public var scale: ClosedRange<Double>
    /// Range of the crop's aspect ratio, width / height (default 3/4...4/3).
    public var ratio: ClosedRange<Double>

    /// Creates the step; `scale` must lie in (0, 1] and `ratio` must be positive.
    public init(
        width: Int, height: Int, scale: ClosedRange<Double> = 0.08...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)
    ) {
        precondition(width > 0 && height > 0, "output size must be positive")
        precondition(scale.lowerBound > 0 && scale.upperBound <= 1, "scale must lie in (0, 1], got \(scale)")
        precondition(ratio.lowerBound > 0, "ratio must be positive, got \(ratio)")
        self.width = width
        self.height = height
        self.scale = scale
        self.ratio = ratio
    }

    /// Picks a crop as torchvision does and resizes it to `width × height`; always returns `true`.
    public func plan(_ geometry: inout Geometry, random: inout SampleRandom) -> Bool {
        let (w, h) = (geometry.width, geometry.height)
        let area = Double(w * h)
        let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
        var chosen: (Int, Int, Int, Int)? = nil
        for _ in 0..<10 {
            let target = area * random.nextDouble(in: scale)
            let aspect = exp(random.nextDouble(in: logRatio))
            let cw = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let ch = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if cw > 0 && cw <= w && ch > 0 && ch <= h {
                let top = random.nextInt(below: h - ch + 1)
                let left = random.nextInt(below: w - cw + 1)
                chosen = (left, top, cw, ch)
                break
            }
        }
        if chosen == nil {
            let inRatio = Double(w) / Double(h)
            var cw = w
            var ch = h
            if inRatio < ratio.lowerBound {
                ch = Int((Double(cw) / ratio.lowerBound).rounded(.toNearestOrEven))
            } else if inRatio > ratio.upperBound {
                cw = Int((Double(ch) * ratio.upperBound).rounded(.toNearestOrEven))
            }
            chosen = ((w - cw) / 2, (h - ch) / 2, max(cw, 1), max(ch, 1))
        }
        let (x, y, cw, ch) = chosen!
        geometry.crop(x: x, y: y, width: cw, height: ch)
        geometry.resize(width: width, height: height)
        return true
    }
}

/// Adds gaussian noise of standard deviation `sigma`, in units of the full intensity range
/// (0.05 ≈ 12.75 grey levels); uint8 results are rounded and clamped to 0…255.
///
/// When it is the last step, the pipeline fuses it into the output pass, so float32 batches get
/// unquantised noise.
public struct GaussianNoise: Augmentation, Hashable, Codable {
    /// Standard deviation in [0, 1] intensity units; 0 leaves the image unchanged.
    public var sigma: Float

    /// Creates the step; `sigma` must be finite and non-negative.
    public init(sigma: Float) {
        precondition(sigma >= 0 && sigma.isFinite, "noise sigma must be finite and >= 0, got \(sigma)")
        self.sigma = sigma
    }

    /// Adds noise to every pixel, rounded and clamped to 0…255.
    public func apply(to image: inout Image, random: inout SampleRandom) {
        if sigma == 0 { return }
        let copy = image
        image.pixels.withUnsafeMutableBytes { out in
            OutputFormat(layout: .nhwc, dtype: .uint8).emit(
                copy, flipH: false, flipV: false, noiseSigma: sigma, random: &random, into: out.baseAddress!)
        }
    }
}
