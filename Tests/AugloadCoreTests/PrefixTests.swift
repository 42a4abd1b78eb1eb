import TestSupport
import Testing

@testable import AugloadCore

/// The pipeline's deterministic prefix and the decoded cache's exactness: a sample made from its
/// stored prefix image is the plain path's bytes, or the split refuses (and says so).
@Suite struct PrefixTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        try #require(TestPaths.read(TestPaths.fixtures + "/" + name))
    }

    /// A PNG of `width × height` with a busy pattern (every tap matters).
    static func png(width: Int, height: Int) -> [UInt8] {
        var image = Image(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                image.pixels[i] = UInt8((x * 37 + y * 11) % 256)
                image.pixels[i + 1] = UInt8((x * x + 3 * y) % 256)
                image.pixels[i + 2] = UInt8(((x ^ y) * 13) % 256)
            }
        }
        let path = TestPaths.temporaryDirectory("augload-prefix") + "/p.png"
        try! PNGWriter.write(image, to: path)
        defer { TestPaths.remove(String(path.dropLast(6))) }
        return TestPaths.read(path)!
    }

    /// Runs `pipeline` on `bytes` for `samples` samples both ways; returns how many were made from the
    /// prefix (the rest the split refused) and records every difference.
    static func compare(_ pipeline: Pipeline, _ bytes: [UInt8], samples: Int, label: String) throws -> Int {
        var workspace = Pipeline.Workspace()
        guard let info = try pipeline.realizePrefix(bytes: bytes, workspace: &workspace) else { return 0 }
        let stored = workspace.prefix.pixels
        let side = pipeline.output.dtype == .float32 ? 4 : 1
        var fromPrefix = 0
        for sample in 0..<samples {
            var r1 = SampleRandom(seed: 3, epoch: sample % 3, sample: sample)
            var r2 = r1
            var plain = [UInt8](repeating: 0, count: 1 << 22)
            var cached = [UInt8](repeating: 1, count: 1 << 22)
            let a = try plain.withUnsafeMutableBytes {
                try pipeline.run(bytes: bytes, random: &r1, workspace: &workspace, into: $0.baseAddress!, width: nil, height: nil)
            }
            let b = try stored.withUnsafeBufferPointer { pixels in
                try cached.withUnsafeMutableBytes {
                    try pipeline.run(
                        prefix: info, pixels: pixels.baseAddress!, random: &r2, workspace: &workspace, into: $0.baseAddress!,
                        width: nil, height: nil)
                }
            }
            guard let b else { continue }
            fromPrefix += 1
            let n = a.width * a.height * 3 * side
            #expect(a == b && plain[0..<n] == cached[0..<n], "\(label) sample \(sample): the prefix path differs")
            #expect(r1.next() == r2.next(), "\(label) sample \(sample): the randomness left differs")
        }
        return fromPrefix
    }

    static let randomCrop: [any Augmentation] = [
        Resize(shorterSide: 64), RandomCrop(width: 56, height: 56), Flip(horizontal: 0.5, vertical: 0.5),
        GaussianNoise(sigma: 0.05),
    ]

    @Test func deterministicStepsFormThePrefixAndUserStepsAreRandomByDefault() {
        struct Invert: Augmentation {
            func apply(to image: inout Image, random: inout SampleRandom) {}
        }
        #expect(Pipeline(steps: Self.randomCrop).deterministicPrefixCount == 1)
        #expect(Pipeline(steps: [Resize(shorterSide: 8), CenterCrop(width: 4, height: 4), Flip()]).deterministicPrefixCount == 2)
        #expect(
            Pipeline(steps: [RandomResizedCrop(width: 8, height: 8), Resize(width: 4, height: 4)]).deterministicPrefixCount == 0)
        #expect(Pipeline(steps: [Invert(), Resize(shorterSide: 8)]).deterministicPrefixCount == 0)
        #expect(!Invert().isDeterministic && !Flip().isDeterministic && !GaussianNoise(sigma: 0).isDeterministic)
    }

    @Test func thePrefixSpecificationNamesWhatDecidesThePixels() {
        let a = Pipeline(steps: Self.randomCrop).prefixSpecification
        #expect(a == Pipeline(steps: [Resize(shorterSide: 64), Flip()]).prefixSpecification, "only the prefix counts")
        #expect(a != Pipeline(steps: [Resize(shorterSide: 65)]).prefixSpecification)
        #expect(a != Pipeline(steps: Self.randomCrop, allowScaledDecode: false).prefixSpecification)
        #expect(a != Pipeline(steps: Self.randomCrop, decodeOptions: DecodeOptions(strict: true)).prefixSpecification)
        #expect(a.contains("shorterSide(64)"))
        #expect(a != Pipeline(steps: Self.randomCrop, maxSide: 300).prefixSpecification)
    }

    @Test func theDCTScaleRuleIsTheLargestScaleThatStillShrinksBothAxes() {
        func plan(_ w: Int, _ h: Int, _ ow: Int, _ oh: Int) -> Geometry {
            var g = Geometry(sourceWidth: w, sourceHeight: h)
            g.resize(width: ow, height: oh)
            return g
        }
        #expect(GeometryRealizer.decodeScale(for: plan(800, 800, 100, 100), format: .jpeg, allowScaledDecode: true) == 8)
        #expect(GeometryRealizer.decodeScale(for: plan(800, 800, 101, 100), format: .jpeg, allowScaledDecode: true) == 4)
        #expect(GeometryRealizer.decodeScale(for: plan(800, 399, 200, 100), format: .jpeg, allowScaledDecode: true) == 2)
        #expect(GeometryRealizer.decodeScale(for: plan(800, 800, 100, 401), format: .jpeg, allowScaledDecode: true) == 1)
        #expect(GeometryRealizer.decodeScale(for: plan(800, 800, 100, 100), format: .png, allowScaledDecode: true) == 1)
        #expect(GeometryRealizer.decodeScale(for: plan(800, 800, 100, 100), format: .jpeg, allowScaledDecode: false) == 1)
        var crop = Geometry(sourceWidth: 800, sourceHeight: 800)
        crop.crop(x: 10, y: 10, width: 50, height: 50)
        #expect(GeometryRealizer.decodeScale(for: crop, format: .jpeg, allowScaledDecode: true) == 1, "a pure crop never scales")
    }

    /// The theorem the cache of a resize rests on, checked tap by tap: cropping `out` outputs at
    /// `offset` from an axis resized from `length` to `resized` pixels (at each DCT scale the
    /// whole resize would use) gives every output the same non-zero taps, and the same pass order,
    /// as the whole resize.
    @Test func aFusedCropOfAResizeHasTheTapsOfTheWholeResize() {
        var mismatches: [String] = []
        var checked = 0
        func effective(_ axis: Resampler.Axis, _ i: Int) -> [Int32] {
            var taps: [Int32] = []
            for k in 0..<Int(axis.counts[i]) where axis.weights[i * axis.ksize + k] != 0 {
                taps += [axis.starts[i] + Int32(k), axis.weights[i * axis.ksize + k]]
            }
            return taps
        }
        var generator = SampleRandom(seed: 99, epoch: 0, sample: 0)
        var cases: [(length: Int, resized: Int, out: Int)] = []
        for length in 1...700 { cases.append((length, 256, 224)) }
        for length in [254, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049] { cases.append((length, 256, 224)) }
        for _ in 0..<400 {
            let resized = 8 + generator.nextInt(below: 600)
            cases.append((1 + generator.nextInt(below: 3000), resized, 1 + generator.nextInt(below: resized)))
        }
        for c in cases {
            for scale in [1, 2, 4, 8] where scale == 1 || Double(c.length) / Double(c.resized) >= Double(scale) {
                let full = (c.length + scale - 1) / scale
                // The whole resize, as the prefix is realised.
                var whole = Geometry(sourceWidth: c.length, sourceHeight: 1)
                whole.resize(width: c.resized, height: 1)
                var wholeAxes = Resampler()
                GeometryRealizer.computeAxes(whole, fullWidth: full, fullHeight: 1, resampler: &wholeAxes)
                let slack = c.resized - c.out
                let offsets = Set([0, 1, slack / 2, max(0, slack - 1), slack, generator.nextInt(below: slack + 1)])
                for offset in offsets where offset >= 0 && offset <= slack {
                    var fused = whole
                    fused.crop(x: offset, y: 0, width: c.out, height: 1)
                    var fusedAxes = Resampler()
                    GeometryRealizer.computeAxes(fused, fullWidth: full, fullHeight: 1, resampler: &fusedAxes)
                    checked += 1
                    if (wholeAxes.horizontal.scale > 1) != (fusedAxes.horizontal.scale > 1) {
                        mismatches.append("\(c) scale \(scale) offset \(offset): pass order")
                    }
                    for i in 0..<c.out where effective(wholeAxes.horizontal, offset + i) != effective(fusedAxes.horizontal, i) {
                        mismatches.append("\(c) scale \(scale) offset \(offset) output \(i)")
                        break
                    }
                }
            }
        }
        #expect(checked > 3000)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(checked) crops differ: \(mismatches.prefix(5))")
    }

    @Test(
        "resize then random crop from the stored resize gives the plain path's bytes",
        arguments: [(254, 300), (255, 255), (256, 400), (257, 180), (300, 254), (90, 70), (513, 511), (64, 64), (63, 200)])
    func resizedPrefixReproducesThePlainPath(width: Int, height: Int) throws {
        let bytes = Self.png(width: width, height: height)
        for output in [OutputFormat(), OutputFormat(layout: .nchw, dtype: .float32)] {
            let pipeline = Pipeline(steps: Self.randomCrop, output: output)
            let made = try Self.compare(pipeline, bytes, samples: 12, label: "\(width)x\(height)")
            #expect(made == 12, "a crop of the stored resize is always exact")
        }
    }

    @Test(
        "JPEGs, resized or cropped, at DCT scales too",
        arguments: [
            "codecs/jpeg-420-2000x1500-q25.jpg", "codecs/jpeg-444-baseline.jpg", "codecs/jpeg-420-progressive.jpg",
            "codecs/png-rgb-8.png", "codecs/jpeg-420-17x13.jpg",
        ])
    func storedPrefixesReproduceThePlainPathOnFiles(name: String) throws {
        let bytes = try Self.fixture(name)
        for steps in [
            Self.randomCrop, [Resize(shorterSide: 256), RandomCrop(width: 224, height: 224), Flip()],
            [Resize(shorterSide: 40), CenterCrop(width: 32, height: 32), Flip()], [Resize(width: 48, height: 30), Flip()],
            [CenterCrop(width: 12, height: 10), Flip(), GaussianNoise(sigma: 0.1)],
        ] as [[any Augmentation]] {
            for allow in [true, false] {
                let made = try Self.compare(
                    Pipeline(steps: steps, allowScaledDecode: allow), bytes, samples: 6, label: "\(name) \(steps)")
                #expect(made == 6, "\(name) \(steps): a deterministic prefix followed by crops is always exact")
            }
        }
    }

    @Test func randomResizedCropFromTheFullDecodeIsExactOrRefusedWhenThePlainPathWouldScale() throws {
        let pipeline = Pipeline(steps: [RandomResizedCrop(width: 48, height: 40), Flip(), GaussianNoise(sigma: 0.05)])
        // Small images never shrink 2x: always made from the stored decode.
        for name in ["codecs/jpeg-444-baseline.jpg", "codecs/png-rgb-8.png", "codecs/jpeg-420-progressive.jpg"] {
            #expect(try Self.compare(pipeline, try Self.fixture(name), samples: 20, label: name) == 20)
        }
        // 2000x1500 to 48x40 always shrinks 2x or more: the plain path decodes at a DCT scale, so the
        // stored full decode is refused (bypassed) — unless scaled decoding is off.
        let big = try Self.fixture("codecs/jpeg-420-2000x1500-q25.jpg")
        #expect(try Self.compare(pipeline, big, samples: 8, label: "2000x1500") == 0)
        var exact = pipeline
        exact.allowScaledDecode = false
        #expect(try Self.compare(exact, big, samples: 8, label: "2000x1500 unscaled") == 8)
    }

    @Test func theReuseEstimateSaysWhenAStoredPrefixWouldServeItsUses() throws {
        let rrc = Pipeline(steps: [RandomResizedCrop(width: 48, height: 40), Flip(), GaussianNoise(sigma: 0.05)])
        // A 2000x1500 JPEG to 48x40 always decodes at a DCT scale: a stored decode serves nothing.
        #expect(rrc.prefixReuse(sourceWidth: 2000, sourceHeight: 1500, format: .jpeg) == 0)
        // What compare() finds by making samples agrees with the estimate.
        let big = try Self.fixture("codecs/jpeg-420-2000x1500-q25.jpg")
        #expect(try Self.compare(rrc, big, samples: 16, label: "2000x1500") == 0)
        // Small images, PNGs, no DCT scaling, a bound, or a random crop of a resize: always served.
        #expect(rrc.prefixReuse(sourceWidth: 90, sourceHeight: 70, format: .jpeg) == 1)
        #expect(rrc.prefixReuse(sourceWidth: 2000, sourceHeight: 1500, format: .png) == 1)
        var unscaled = rrc
        unscaled.allowScaledDecode = false
        #expect(unscaled.prefixReuse(sourceWidth: 2000, sourceHeight: 1500, format: .jpeg) == 1)
        var bounded = rrc
        bounded.maxSide = 300
        #expect(bounded.prefixReuse(sourceWidth: 2000, sourceHeight: 1500, format: .jpeg) == 1)
        #expect(Pipeline(steps: Self.randomCrop).prefixReuse(sourceWidth: 2000, sourceHeight: 1500, format: .jpeg) == 1)
        // In between: a 200x150 JPEG to 48x40 is served when the crop is under 2x the output on an axis.
        let mid = rrc.prefixReuse(sourceWidth: 200, sourceHeight: 150, format: .jpeg)
        #expect(mid > 0 && mid < 1, "\(mid)")
        // The cache's question, answered with early stops, agrees with the full count.
        for (w, h) in [(2000, 1500), (90, 70), (200, 150), (120, 100), (300, 200), (160, 160)] {
            #expect(
                rrc.prefixServesMostUses(sourceWidth: w, sourceHeight: h, format: .jpeg)
                    == (rrc.prefixReuse(sourceWidth: w, sourceHeight: h, format: .jpeg) >= 0.5), "\(w)x\(h)")
        }
        // A resize followed by another resampling step is never served.
        #expect(
            Pipeline(steps: [Resize(shorterSide: 60), RandomResizedCrop(width: 32, height: 32)])
                .prefixReuse(sourceWidth: 90, sourceHeight: 70, format: .png) == 0)
    }

    @Test func aResizedPrefixIsNotReusedForAnotherResize() throws {
        // Resize then RandomResizedCrop: the plain path resamples once, from the file; from the
        // stored resize it would resample twice. The split refuses.
        let pipeline = Pipeline(steps: [Resize(shorterSide: 60), RandomResizedCrop(width: 32, height: 32)])
        #expect(try Self.compare(pipeline, Self.png(width: 90, height: 70), samples: 10, label: "resize+rrc") == 0)
    }

    @Test func damagedFilesAreNeverStored() throws {
        var bytes = try Self.fixture("codecs/jpeg-420-baseline.jpg")
        bytes.removeLast(bytes.count / 3)
        bytes += [0xFF, 0xD9]
        var workspace = Pipeline.Workspace()
        let pipeline = Pipeline(steps: Self.randomCrop)
        let info = try? pipeline.realizePrefix(bytes: bytes, workspace: &workspace)
        #expect(info == nil, "a damaged file must never be stored")
    }

    @Test func maxSideMeansResizeTheDecodedImageFirst() throws {
        let bytes = try Self.fixture("codecs/jpeg-420-2000x1500-q25.jpg")
        // Its definition, done by hand: decode and resize to 320x240 (the longer side to 320), then
        // run the steps on those pixels.
        let steps: [any Augmentation] = [Resize(width: 48, height: 40)]
        for allow in [true, false] {
            var workspace = Pipeline.Workspace()
            var random = SampleRandom(seed: 1, epoch: 0, sample: 0)
            var bounded = try Pipeline(steps: [Resize(width: 320, height: 240)], allowScaledDecode: allow)
                .augment(bytes: bytes, random: &random, workspace: &workspace)
            for step in steps { step.apply(to: &bounded, random: &random) }
            let got = try Pipeline(steps: steps, allowScaledDecode: allow, maxSide: 320)
                .augment(bytes: bytes, random: &random, workspace: &workspace)
            #expect(got.width == 48 && got.height == 40 && got.pixels == bounded.pixels, "scaled decode \(allow)")
            let unbounded = try Pipeline(steps: steps, allowScaledDecode: allow)
                .augment(bytes: bytes, random: &random, workspace: &workspace)
            #expect(unbounded.pixels != got.pixels, "the bound is a resampling of its own")
        }
        // Images within the bound are untouched; the bounded size keeps the aspect ratio (floor).
        let small = try Self.fixture("codecs/jpeg-444-baseline.jpg")
        var workspace = Pipeline.Workspace()
        var r1 = SampleRandom(seed: 2, epoch: 0, sample: 0)
        var r2 = r1
        #expect(
            try Pipeline(steps: Self.randomCrop, maxSide: 4000).augment(bytes: small, random: &r1, workspace: &workspace)
                == Pipeline(steps: Self.randomCrop).augment(bytes: small, random: &r2, workspace: &workspace))
        let p = Pipeline(steps: [], maxSide: 100)
        #expect(p.sourceSize(width: 2000, height: 1500) == (100, 75, true))
        #expect(p.sourceSize(width: 333, height: 1000) == (33, 100, true))
        #expect(p.sourceSize(width: 100, height: 40) == (100, 40, false))
        #expect(p.sourceSize(width: 1000, height: 1) == (100, 1, true))
    }

    @Test(
        "with maxSide, stored prefixes reproduce the plain path and RandomResizedCrop never bypasses",
        arguments: ["codecs/jpeg-420-2000x1500-q25.jpg", "codecs/jpeg-420-progressive.jpg", "codecs/png-rgb-8.png"])
    func boundedPrefixesReproduceThePlainPath(name: String) throws {
        let bytes = try Self.fixture(name)
        for steps in [
            Self.randomCrop, [RandomResizedCrop(width: 48, height: 40), Flip(), GaussianNoise(sigma: 0.05)],
            [Resize(shorterSide: 40), CenterCrop(width: 32, height: 32), Flip()],
        ] as [[any Augmentation]] {
            for side in [64, 160, 333] {
                let made = try Self.compare(
                    Pipeline(steps: steps, maxSide: side), bytes, samples: 8, label: "\(name) \(steps) max side \(side)")
                #expect(made == 8, "\(name) \(steps) max side \(side): every sample is made from the stored prefix")
            }
        }
    }
}
