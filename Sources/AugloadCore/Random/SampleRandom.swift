/// The randomness of one sample: a pure function of `(seed, epoch, sample index)`.
///
/// A counter-based generator: the key mixes seed, epoch and sample; draw *n* is a SplitMix64
/// finaliser of `key + n·γ`. Nothing depends on which worker computes the sample, on how many
/// workers there are, or on the order in which samples are processed — the property that makes
/// `--workers 0`, `1` and `7` write the same bytes. It is fast (a few multiplies per 64 bits) and
/// never touches the system's entropy source.
///
///     var rng = SampleRandom(seed: 42, epoch: 0, sample: 17)
///     let coin = rng.nextBool(probability: 0.5)
///     let x = rng.nextInt(below: 100)
public struct SampleRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var key: UInt64
    @usableFromInline var counter: UInt64 = 0

    /// The generator for one sample of one epoch. `stream` separates independent uses (shuffle,
    /// replacement choice, augmentation) of the same `(seed, epoch, sample)`.
    public init(seed: UInt64, epoch: Int, sample: Int, stream: UInt64 = 0) {
        var k = SampleRandom.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        k = SampleRandom.mix(k ^ UInt64(bitPattern: Int64(epoch)) &* 0xD1B5_4A32_D192_ED03)
        k = SampleRandom.mix(k ^ UInt64(bitPattern: Int64(sample)) &* 0x8CB9_2BA7_2F3D_8DD7)
        key = SampleRandom.mix(k ^ stream &* 0xA24B_AED4_963E_E407)
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        counter &+= 1
        return SampleRandom.mix(key &+ counter &* 0x9E37_79B9_7F4A_7C15)
    }

    /// SplitMix64's finaliser: a bijective 64-bit mixer.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    @inlinable
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift, unbiased).
    @inlinable
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
    }

    /// True with the given probability.
    @inlinable
    public mutating func nextBool(probability p: Double) -> Bool {
        if p <= 0 { return false }
        if p >= 1 { return true }
        return nextUnit() < p
    }

    /// A uniform double in `range`.
    @inlinable
    public mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUnit()
    }
}

/// Streams that keep the independent random uses of one sample apart.
public enum RandomStream {
    /// Per-epoch shuffle of the dataset (keyed with sample = -1).
    public static let shuffle: UInt64 = 1
    /// The augmentation of a sample.
    public static let augment: UInt64 = 2
    /// Choosing a replacement for a bad file.
    public static let replacement: UInt64 = 3
}
