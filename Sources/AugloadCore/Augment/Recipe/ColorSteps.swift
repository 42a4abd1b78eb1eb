/// The colour steps of today's recipes, as torchvision.transforms.v2 draws them: `ColorJitter`,
/// `RandomGrayscale` and `GaussianBlur`.

/// `ColorJitter(brightness, contrast, saturation, hue)`: each factor uniform in its range, the
/// four applied in a random order per sample (`torch.randperm(4)`); a zero parameter leaves its
/// adjustment out, as torchvision does.
///
///     ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)
public struct ColorJitter: RecipeStep, Hashable, Codable {
    /// Brightness, contrast and saturation factors are uniform in `[max(0, 1 - v), 1 + v]`.
    public var brightness: Double, contrast: Double, saturation: Double
    /// The hue shift is uniform in `[-hue, hue]`, `hue` at most 0.5.
    public var hue: Double

    /// - Parameters: torchvision's single-number forms; 0 leaves that adjustment out.
    public init(brightness: Double = 0, contrast: Double = 0, saturation: Double = 0, hue: Double = 0) {
        precondition(brightness >= 0 && contrast >= 0 && saturation >= 0, "jitter strengths must not be negative")
        precondition((0...0.5).contains(hue), "hue must be in [0, 0.5]")
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }

    /// A factor uniform in `[lo, hi]`, as `torch.empty(1).uniform_(lo, hi)` gives it (a float32).
    static func uniform(_ lo: Double, _ hi: Double, _ random: inout SampleRandom) -> Double {
        Double(Float(lo + (hi - lo) * random.nextUnit()))
    }

    public func draw(width: Int, height: Int, random: inout SampleRandom) -> [RecipeOp] {
        // torch.randperm(4): a uniform permutation (Fisher-Yates on the sample's stream).
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
        // The factors are drawn in torchvision's order (b, c, s, h), then applied in `order`.
        let b = brightness > 0 ? Self.uniform(max(0, 1 - brightness), 1 + brightness, &random) : nil
        let c = contrast > 0 ? Self.uniform(max(0, 1 - contrast), 1 + contrast, &random) : nil
        let s = saturation > 0 ? Self.uniform(max(0, 1 - saturation), 1 + saturation, &random) : nil
        let h = hue > 0 ? Self.uniform(-hue, hue, &random) : nil
        return order.compactMap { index -> RecipeOp? in
            switch index {
            case 0: return b.map { .brightness($0) }
            case 1: return c.map { .contrast($0) }
            case 2: return s.map { .saturation($0) }
            default: return h.map { .hue($0) }
            }
        }
    }
}

/// `RandomGrayscale(p)`: the image becomes gray (three equal channels) with probability `p`.
public struct RandomGrayscale: RecipeStep, Hashable, Codable {
    /// The probability in [0, 1].
    public var probability: Double

    public init(probability: Double) {
        precondition((0...1).contains(probability), "grayscale probability must be in [0, 1]")
        self.probability = probability
    }

    public func draw(width: Int, height: Int, random: inout SampleRandom) -> [RecipeOp] {
        // v2's _RandomApplyTransform: skipped when rand() >= p.
        random.nextUnit() >= probability ? [] : [.grayscale]
    }
}

/// `GaussianBlur(kernel_size, sigma=(lo, hi))`: sigma uniform in `[lo, hi]`, the same on both axes.
public struct GaussianBlur: RecipeStep, Hashable, Codable {
    /// The side of the square kernel: odd and positive.
    public var kernel: Int
    /// The range sigma is drawn from.
    public var sigmaLow: Double, sigmaHigh: Double

    public init(kernel: Int, sigma: ClosedRange<Double> = 0.1...2.0) {
        precondition(kernel > 0 && kernel % 2 == 1, "the blur kernel must be odd and positive")
        precondition(sigma.lowerBound > 0, "sigma must be positive")
        self.kernel = kernel
        sigmaLow = sigma.lowerBound
        sigmaHigh = sigma.upperBound
    }

    public func draw(width: Int, height: Int, random: inout SampleRandom) -> [RecipeOp] {
        [.gaussianBlur(kernel: kernel, sigma: ColorJitter.uniform(sigmaLow, sigmaHigh, &random))]
    }
}
