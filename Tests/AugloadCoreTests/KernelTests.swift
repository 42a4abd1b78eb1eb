import AugloadCore
import CAugKernels
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The SIMD kernels' two bodies (AVX2 where the CPU has it, portable everywhere) give the same
/// bytes: whole pipelines over real files, and each kernel on odd sizes and edges.
///
/// The portable body is forced through a process-wide switch; other tests running meanwhile only
/// see the other body, which is what this suite proves gives identical results.
@Suite(.serialized) struct KernelTests {
    /// Runs `body` once with the AVX2 body and once with the portable one. On a CPU without
    /// AVX2 both runs would use the portable body and prove nothing: ``theAVX2BodiesAreThereToCompare()``
    /// fails there (set `AUGLOAD_KERNELS_PORTABLE_ONLY=1` to accept that on such a machine).
    static func bothBodies<R>(_ body: () throws -> R) rethrows -> (best: R, portable: R) {
        let best = try body()
        aug_kernels_force_portable(1)
        defer { aug_kernels_force_portable(0) }
        #expect(aug_kernels_simd_level() == 0, "the portable body is forced for the second run")
        return (best, try body())
    }

    @Test func theAVX2BodiesAreThereToCompare() {
        let level = aug_kernels_simd_level()
        if level == 0 && getenv("AUGLOAD_KERNELS_PORTABLE_ONLY") == nil {
            Issue.record(
                "this CPU has no AVX2: the kernel tests below compared the portable body with itself (set AUGLOAD_KERNELS_PORTABLE_ONLY=1 to accept)"
            )
        }
        #expect(level == 1 || getenv("AUGLOAD_KERNELS_PORTABLE_ONLY") != nil, "compared AVX2 against portable: level \(level)")
    }

    /// How many elements differ (compact in a failure message, unlike the arrays themselves).
    static func differing<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a == b { return 0 }
        return a.count == b.count ? zip(a, b).filter { $0 != $1 }.count : max(a.count, b.count)
    }

    static let pipelines: [Pipeline] = [
        Pipeline(
            steps: [Resize(shorterSide: 73), RandomCrop(width: 64, height: 61), Flip(), GaussianNoise(sigma: 0.05)],
            output: OutputFormat(layout: .nchw, dtype: .float32, mean: OutputFormat.imageNetMean, std: OutputFormat.imageNetStd)),
        Pipeline(
            steps: [RandomResizedCrop(width: 37, height: 50), Flip(horizontal: 0.5, vertical: 0.5)],
            output: OutputFormat(layout: .nhwc, dtype: .float32)),
        Pipeline(
            steps: [Resize(shorterSide: 70), CenterCrop(width: 64, height: 64), Flip(), GaussianNoise(sigma: 0.02)],
            output: OutputFormat(layout: .nhwc, dtype: .float32, mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.4])),
        Pipeline(
            steps: [Resize(width: 150, height: 9), GaussianNoise(sigma: 0.1)], output: OutputFormat(layout: .nhwc, dtype: .uint8)),
        Pipeline(steps: [Resize(width: 301, height: 233)], output: OutputFormat(layout: .nchw, dtype: .float32)),
        Pipeline(
            steps: [Resize(shorterSide: 50), RandomCrop(width: 43, height: 40), Flip(), GaussianNoise(sigma: 0.2)],
            output: OutputFormat(layout: .nchw, dtype: .uint8)),
    ]

    @Test func pipelinesGiveTheSameBytesWithEitherBody() throws {
        let names = [
            "codecs/jpeg-420-baseline.jpg", "codecs/jpeg-420-17x13.jpg", "codecs/jpeg-420-1001x3.jpg",
            "codecs/jpeg-420-2000x1500-q25.jpg", "codecs/jpeg-cmyk-adobe.jpg",
        ]
        var compared = 0
        for name in names {
            let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/" + name))
            for (p, pipeline) in Self.pipelines.enumerated() {
                for sample in 0..<6 {
                    let (best, portable) = try Self.bothBodies { () throws -> [UInt8] in
                        var random = SampleRandom(seed: 3, epoch: 1, sample: sample, stream: RandomStream.augment)
                        var workspace = Pipeline.Workspace()
                        var out = [UInt8](repeating: 0, count: 301 * 233 * 3 * 4)
                        try out.withUnsafeMutableBytes { buf in
                            _ = try pipeline.run(
                                bytes: bytes, random: &random, workspace: &workspace, into: buf.baseAddress!, width: nil,
                                height: nil)
                        }
                        return out
                    }
                    #expect(Self.differing(best, portable) == 0, "\(name), pipeline \(p), sample \(sample)")
                    compared += 1
                }
            }
        }
        #expect(compared == 5 * Self.pipelines.count * 6)
    }

    @Test func resamplingPassesAgreeOnOddSizesAndBufferEnds() {
        var generator = SampleRandom(seed: 9, epoch: 0, sample: 0)
        for trial in 0..<300 {
            let inWidth = 1 + Int(generator.next() % 97)
            let inHeight = 1 + Int(generator.next() % 41)
            let outWidth = 1 + Int(generator.next() % 80)
            let outHeight = 1 + Int(generator.next() % 50)
            var source = Image(width: inWidth, height: inHeight)
            for i in source.pixels.indices { source.pixels[i] = UInt8(truncatingIfNeeded: generator.next()) }
            // A window partly outside the image on some trials: taps clamp at the edges.
            let x0 = Double(generator.next() % 7) - 3
            let y0 = Double(generator.next() % 5) - 2
            var plan = Geometry(sourceWidth: inWidth, sourceHeight: inHeight)
            plan.x0 = x0
            plan.y0 = y0
            plan.x1 = x0 + Double(inWidth) * (0.3 + Double(generator.next() % 100) / 40)
            plan.y1 = y0 + Double(inHeight) * (0.3 + Double(generator.next() % 100) / 40)
            plan.resize(width: outWidth, height: outHeight)
            let (best, portable) = Self.bothBodies { () -> [UInt8] in
                var resampler = Resampler()
                return GeometryRealizer.realize(plan, from: source, resampler: &resampler).pixels
            }
            #expect(Self.differing(best, portable) == 0, "trial \(trial): \(inWidth)x\(inHeight) -> \(outWidth)x\(outHeight)")
        }
    }

    /// Wide outputs: the AVX2 horizontal pass keeps weight vectors for at most 1024 groups of taps
    /// at once and works through wider axes in chunks of columns.
    @Test(arguments: [(97, 9, 1500, 7), (3000, 10, 1100, 5), (2500, 6, 2047, 6)])
    func wideAxesAgree(_ c: (inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int)) {
        var generator = SampleRandom(seed: 11, epoch: 0, sample: c.outWidth)
        var source = Image(width: c.inWidth, height: c.inHeight)
        for i in source.pixels.indices { source.pixels[i] = UInt8(truncatingIfNeeded: generator.next()) }
        var plan = Geometry(sourceWidth: c.inWidth, sourceHeight: c.inHeight)
        plan.resize(width: c.outWidth, height: c.outHeight)
        let (best, portable) = Self.bothBodies { () -> [UInt8] in
            var resampler = Resampler()
            return GeometryRealizer.realize(plan, from: source, resampler: &resampler).pixels
        }
        #expect(best.count == c.outWidth * c.outHeight * 3)
        #expect(Self.differing(best, portable) == 0, "\(c)")
    }

    @Test func noiseIsAPureFunctionOfTheDrawAndPosition() {
        var rows: [[Float]] = []
        for count in [1, 15, 16, 17, 224 * 3, 1001] {
            let (best, portable) = Self.bothBodies { () -> [Float] in
                var out = [Float](repeating: .nan, count: count)
                NoiseTable.values.withUnsafeBufferPointer { table in
                    out.withUnsafeMutableBufferPointer {
                        aug_noise_fill(table.baseAddress!, 0xDEAD_BEEF_1234, $0.baseAddress!, Int32(count))
                    }
                }
                return out
            }
            #expect(Self.differing(best, portable) == 0, "\(count) deviates")
            rows.append(best)
        }
        // A longer row extends a shorter one: element i depends only on (draw, i).
        #expect(Self.differing(Array(rows[5].prefix(224 * 3)), rows[4]) == 0)
        #expect(Self.differing(Array(rows[3].prefix(16)), rows[2]) == 0)
    }

    /// The recipe kernels' bodies (AVX2 with FMA, eight pixels per step for the geometry; portable)
    /// give the same bytes: every operation on a photo, at sizes on both sides of ATen's
    /// fused/unfused grid switch (67 pixels) and with odd row tails.
    @Test func recipeOperationsGiveTheSameBytesWithEitherBody() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/codecs/jpeg-420-2000x1500-q25.jpg"))
        let photo = try ImageDecoder.decode(bytes)
        var ops: [RecipeOp] = [
            .brightness(1.4), .contrast(0.6), .saturation(1.7), .hue(0.2), .sharpness(1.9), .grayscale, .posterize(bits: 3),
            .solarize(threshold: 100), .autocontrast, .equalize, .invert, .gaussianBlur(kernel: 5, sigma: 1.3),
        ]
        for angle in [-135.0, -31.5, 7.25, 45, 90, 123.4] {
            ops.append(.rotate(angle: angle))
            ops.append(.rotate(angle: angle, bilinear: true))
            ops.append(.affine(angle: angle, translateX: 3, translateY: -5, shearX: 0, shearY: 0, topLeftCenter: false))
        }
        for shear in [-44.7, -8.5, 16.7, 44.7] {
            ops.append(.affine(angle: 0, translateX: 0, translateY: 0, shearX: shear, shearY: 0, topLeftCenter: true))
            ops.append(.affine(angle: 0, translateX: 0, translateY: 0, shearX: shear, shearY: 0, topLeftCenter: true, bilinear: true))
            ops.append(.affine(angle: 0, translateX: 0, translateY: 0, shearX: 0, shearY: shear, topLeftCenter: true))
        }
        for translate in [-32, -7, 13, 31] {
            ops.append(.affine(angle: 0, translateX: translate, translateY: 0, shearX: 0, shearY: 0, topLeftCenter: false))
        }
        var compared = 0
        for (width, height) in [(176, 176), (97, 61), (8, 7), (13, 5), (300, 17)] {
            var resampler = Resampler()
            var geometry = Geometry(sourceWidth: photo.width, sourceHeight: photo.height)
            geometry.resize(width: width, height: height)
            let image = GeometryRealizer.realize(geometry, from: photo, resampler: &resampler)
            for op in ops {
                let (best, portable) = Self.bothBodies { () -> [UInt8] in
                    var copy = image
                    var scratch = RecipeScratch()
                    op.apply(to: &copy, scratch: &scratch)
                    return copy.pixels
                }
                #expect(Self.differing(best, portable) == 0, "\(op) on \(width)x\(height)")
                compared += 1
            }
        }
        #expect(compared == 5 * ops.count)
    }
}
