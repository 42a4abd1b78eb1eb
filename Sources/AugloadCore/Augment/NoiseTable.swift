import CAugKernels

#if canImport(Glibc)
    import Glibc
#endif

/// Standard normal deviates by table lookup: 4096 quantiles of N(0, 1), rescaled to unit variance.
///
/// Why a table: a 224×224×3 image needs 150,528 deviates. Box–Muller costs a log, a sqrt and a
/// sincos per pair (about 1 ms per image); a table indexed by 12 random bits costs a shift and a
/// load (the bits come from a hash computed eight lanes at a time, see ``fill(_:from:random:)``).
/// The quantisation (4096 levels spanning ±3.5σ) is far below what augmentation noise needs, and
/// mean/variance are exact by construction.
public enum NoiseTable {
    /// Number of entries (a power of two).
    public static let size = Int(AUG_NOISE_TABLE_SIZE)
    /// The table: `values[i]` is the normal quantile at `(i + 0.5) / size`, scaled to variance 1.
    public static let values: [Float] = {
        var q = [Double](repeating: 0, count: size)
        for i in 0..<size {
            q[i] = inverseNormalCDF((Double(i) + 0.5) / Double(size))
        }
        let variance = q.reduce(0) { $0 + $1 * $1 } / Double(size)
        let scale = 1 / variance.squareRoot()
        return q.map { Float($0 * scale) }
    }()

    /// Fills `out` with deviates for one row from a single 64-bit draw of `random`.
    ///
    /// The indices come from a vectorised 32-bit hash of (draw, position) in `aug_noise_fill`:
    /// sixteen deviates cost two multiplies per eight lanes and two gathers, against a 64-bit
    /// SplitMix draw per five deviates before (about a third of a millisecond per 224² image).
    @inline(__always)
    static func fill(_ out: UnsafeMutableBufferPointer<Float>, from table: UnsafeBufferPointer<Float>, random: inout SampleRandom)
    {
        aug_noise_fill(table.baseAddress!, random.next(), out.baseAddress!, Int32(out.count))
    }

    /// Inverse of the standard normal CDF (run once per process, at table build time): bisection
    /// on `erfc` down to a bracket of 0.005, then Newton steps, which converge quadratically from
    /// there — 15 `erfc` calls instead of 80 bisections (a worker builds the table at start-up).
    static func inverseNormalCDF(_ p: Double) -> Double {
        let cdf = { (x: Double) in 0.5 * erfc(-x / 2.0.squareRoot()) }
        var lo = -10.0
        var hi = 10.0
        for _ in 0..<12 {
            let mid = (lo + hi) / 2
            if cdf(mid) < p { lo = mid } else { hi = mid }
        }
        var x = (lo + hi) / 2
        for _ in 0..<3 {
            let density = exp(-x * x / 2) / (2 * Double.pi).squareRoot()
            x -= (cdf(x) - p) / density
        }
        return x
    }
}
