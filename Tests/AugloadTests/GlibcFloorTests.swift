import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `Sources/CAugSystem/glibc_floor.c` replaces glibc's `hypotf` (so the wheel needs glibc 2.34, not
/// 2.35): it must still be the float hypotenuse, infinities and NaN included.
@Suite struct GlibcFloorTests {
    @Test func hypotfIsTheCorrectlyRoundedFloatHypotenuse() {
        let values: [Float] = [0, -0, 1, -3, 4, 1e-30, 3e38, -3.4e38, 0.1, 12345.678, .leastNonzeroMagnitude]
        for x in values {
            for y in values {
                #expect(hypotf(x, y) == Float(hypot(Double(x), Double(y))), "hypotf(\(x), \(y))")
            }
        }
        #expect(hypotf(.infinity, .nan) == .infinity && hypotf(.nan, -.infinity) == .infinity)
        #expect(hypotf(.nan, 1).isNaN)
    }
}
