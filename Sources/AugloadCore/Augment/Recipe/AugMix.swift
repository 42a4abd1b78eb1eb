import CAugKernels

/// One sample's AugMix (torchvision.transforms.v2.AugMix): the weights drawn and the chains of
/// operations, each run from the original image.
///
/// torchvision computes, in float32, `mix = m0 * image`, then for each chain
/// `mix.add_(w_i * chain_i(image))`, and `.to(uint8)` (truncation): ``apply(to:scratch:)`` does
/// those operations in that order (`aug_weighted_accumulate`, `aug_truncate_u8`), so the replay
/// of the explain record (``call``) gives these bytes to within the chains' own tolerance.
public struct AugMixDraw: Sendable, Equatable {
    /// `m[:, 0]`: the original image's weight, from Dirichlet(α, α).
    public var originalWeight: Float
    /// `combined_weights[:, i]`: Dirichlet(α, …, α) times `m[:, 1]`, in float32.
    public var chainWeights: [Float]
    /// The operations of each chain, in order.
    public var chains: [[RecipeOp]]

    /// The explain record: `augload_augmix` with the weights and each chain's torchvision calls
    /// (a replay runs each chain from the image, then the mix above).
    public var call: ExplainCall {
        ExplainCall(
            "augload_augmix",
            [
                "original_weight": .number(Double(originalWeight)),
                "chain_weights": .numbers(chainWeights.map(Double.init)),
                "chains": .list(chains.map { chain in .list(chain.map { .call($0.call) }) }),
            ])
    }

    func apply(to image: inout Image, scratch: inout RecipeScratch) {
        let count = image.pixels.count
        if scratch.mix.count < count { scratch.mix = [Float](repeating: 0, count: count) }
        var mix = scratch.mix
        scratch.mix = []
        mix.withUnsafeMutableBufferPointer { acc in
            image.pixels.withUnsafeBufferPointer { aug_weighted_accumulate(acc.baseAddress!, $0.baseAddress!, count, originalWeight, 1) }
        }
        var chain = scratch.chain
        scratch.chain = Image()
        for (weight, ops) in zip(chainWeights, chains) {
            chain.reshape(width: image.width, height: image.height)
            chain.pixels.withUnsafeMutableBufferPointer { dst in
                image.pixels.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: count) }
            }
            for op in ops { op.apply(to: &chain, scratch: &scratch) }
            mix.withUnsafeMutableBufferPointer { acc in
                chain.pixels.withUnsafeBufferPointer { aug_weighted_accumulate(acc.baseAddress!, $0.baseAddress!, count, weight, 0) }
            }
        }
        mix.withUnsafeBufferPointer { acc in
            image.pixels.withUnsafeMutableBufferPointer { aug_truncate_u8(acc.baseAddress!, $0.baseAddress!, count) }
        }
        scratch.mix = mix
        scratch.chain = chain
    }
}

extension AutoAugmentation {
    /// AugMix's space with `all_ops=True`, in torchvision's dictionary order (the partial space,
    /// then the colour operations): the draw picks an index into it.
    static let augMixSpace: [Kind] = [
        .shearX, .shearY, .translateX, .translateY, .rotate, .posterize, .solarize, .autoContrast, .equalize,
        .brightness, .color, .contrast, .sharpness,
    ]

    /// AugMix's magnitudes of `kind` (`_PARAMETER_MAX` = 10 bins), or nil for an operation without one.
    static func augMixMagnitudes(_ kind: Kind, width: Int, height: Int) -> [Float]? {
        let bins = 10
        switch kind {
        case .identity, .autoContrast, .equalize, .invert: return nil
        case .shearX, .shearY: return linspace(0, 0.3, bins)
        case .translateX: return linspace(0, Float(Double(width) / 3), bins)
        case .translateY: return linspace(0, Float(Double(height) / 3), bins)
        case .rotate: return linspace(0, 30, bins)
        case .posterize:
            // (4 - (arange(bins) / ((bins - 1) / 4))).round(): float32 division, half to even.
            let divisor = Float(Double(bins - 1) / 4)
            return (0..<bins).map { (4 - Float($0) / divisor).rounded(.toNearestOrEven) }
        case .solarize: return linspace(1, 0, bins)
        case .brightness, .color, .contrast, .sharpness: return linspace(0, 0.9, bins)
        }
    }

    /// AugMix's draws, in torchvision's order: the Dirichlet(α, α) pair, the chains' Dirichlet
    /// weights, then per chain its depth (1...3 when `depth` < 1) and per operation its index, its
    /// magnitude bin (of `severity`) and sign.
    static func drawAugMix(severity: Int, width chainCount: Int, depth: Int, alpha: Double, imageWidth: Int, imageHeight: Int,
                           random: inout SampleRandom) -> AugMixDraw {
        let m = random.nextDirichlet([alpha, alpha]).map(Float.init)
        let weights = random.nextDirichlet([Double](repeating: alpha, count: chainCount)).map { Float($0) * m[1] }
        var chains: [[RecipeOp]] = []
        for _ in 0..<chainCount {
            let length = depth > 0 ? depth : 1 + random.nextInt(below: 3)
            var chain: [RecipeOp] = []
            for _ in 0..<length {
                let kind = augMixSpace[random.nextInt(below: augMixSpace.count)]
                var magnitude = 0.0
                if let values = augMixMagnitudes(kind, width: imageWidth, height: imageHeight) {
                    magnitude = Double(values[random.nextInt(below: severity)])
                    if kind.signed && random.nextUnit() <= 0.5 { magnitude = -magnitude }
                }
                if let op = operation(kind, magnitude: magnitude, bilinear: true) { chain.append(op) }
            }
            chains.append(chain)
        }
        return AugMixDraw(originalWeight: m[0], chainWeights: weights, chains: chains)
    }
}
