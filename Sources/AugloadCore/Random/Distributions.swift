#if canImport(Glibc)
    import Glibc
#endif

/// The continuous distributions the recipes draw from: MixUp/CutMix's Beta(α, α), AugMix's
/// Dirichlet weights, over the sample's (or batch's) own stream.
extension SampleRandom {
    /// Beta(α, α) from two Gamma(α) draws.
    public mutating func nextBeta(_ alpha: Double) -> Double {
        let x = nextGamma(alpha)
        let y = nextGamma(alpha)
        guard x + y > 0 else { return nextUnit() < 0.5 ? 0 : 1 }
        return x / (x + y)
    }

    /// Dirichlet(alphas): one Gamma(αᵢ) draw each, divided by their sum (as
    /// `torch._sample_dirichlet`); uniform weights in the (vanishing) case where all draws are 0.
    public mutating func nextDirichlet(_ alphas: [Double]) -> [Double] {
        var draws: [Double] = []
        for alpha in alphas { draws.append(nextGamma(alpha)) }
        let sum = draws.reduce(0, +)
        guard sum > 0 else { return alphas.map { _ in 1 / Double(alphas.count) } }
        return draws.map { $0 / sum }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang's method; a shape below 1 is boosted
    /// (`Gamma(a) = Gamma(a + 1)·U^(1/a)`).
    public mutating func nextGamma(_ shape: Double) -> Double {
        if shape < 1 {
            let u = max(nextUnit(), 0x1p-60)
            return nextGamma(shape + 1) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0
            var v = 0.0
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(max(u, 0x1p-60)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A standard normal deviate (Box–Muller, one of the pair).
    public mutating func nextNormal() -> Double {
        let u1 = max(nextUnit(), 0x1p-60)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
