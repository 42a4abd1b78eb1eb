import AugloadCore
import FoundationEssentials
import TestSupport
import Testing

/// Augmentations: exactness of flips and crops, the resampler against Pillow, noise statistics,
/// determinism, and the fused decode-region path against a full decode.
@Suite struct AugmentTests {
    static func fixture(_ name: String) throws -> (bytes: [UInt8], image: Image) {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/" + name))
        return (bytes, try ImageDecoder.decode(bytes))
    }

    static func gradient(width: Int, height: Int) -> Image {
        var image = Image(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                image.pixels[i] = UInt8(x % 256)
                image.pixels[i + 1] = UInt8(y % 256)
                image.pixels[i + 2] = UInt8((x * 7 + y * 3) % 256)
            }
        }
        return image
    }

    @Test func horizontalAndVerticalFlipsMirrorExactly() {
        let image = Self.gradient(width: 7, height: 5)
        var random = SampleRandom(seed: 0, epoch: 0, sample: 0)
        var h = image
        Flip(horizontal: 1, vertical: 0).apply(to: &h, random: &random)
        var v = image
        Flip(horizontal: 0, vertical: 1).apply(to: &v, random: &random)
        for y in 0..<5 {
            for x in 0..<7 {
                #expect(h[x: x, y: y] == image[x: 6 - x, y: y])
                #expect(v[x: x, y: y] == image[x: x, y: 4 - y])
            }
        }
        var none = image
        Flip(horizontal: 0, vertical: 0).apply(to: &none, random: &random)
        #expect(none == image)
    }

    @Test func centerCropCopiesTheCentreExactly() {
        let image = Self.gradient(width: 9, height: 8)
        var random = SampleRandom(seed: 0, epoch: 0, sample: 0)
        var cropped = image
        CenterCrop(width: 4, height: 3).apply(to: &cropped, random: &random)
        // torchvision: top = round((8-3)/2) = round(2.5) = 2 (half to even), left = round(2.5) = 2.
        #expect(cropped == crop(image, PixelRect(x: 2, y: 2, width: 4, height: 3)))
    }

    @Test func randomCropIsAnExactCopyOfSomeWindowAndCoversAllPositions() {
        let image = Self.gradient(width: 12, height: 10)
        var seen = Set<[Int]>()
        for sample in 0..<400 {
            var random = SampleRandom(seed: 3, epoch: 0, sample: sample)
            var cropped = image
            RandomCrop(width: 8, height: 7).apply(to: &cropped, random: &random)
            // The gradient encodes coordinates: the top-left pixel says where the window was.
            let (x, y, _) = cropped[x: 0, y: 0]
            #expect(cropped == crop(image, PixelRect(x: Int(x), y: Int(y), width: 8, height: 7)))
            seen.insert([Int(x), Int(y)])
        }
        #expect(seen.count == 5 * 4, "every one of the 5x4 positions is reachable")
    }

    @Test func randomResizedCropFollowsTorchvisionBounds() {
        var random = SampleRandom(seed: 9, epoch: 0, sample: 0)
        let crop = RandomResizedCrop(width: 32, height: 32)
        for _ in 0..<500 {
            var g = Geometry(sourceWidth: 400, sourceHeight: 300)
            _ = crop.plan(&g, random: &random)
            let w = g.x1 - g.x0
            let h = g.y1 - g.y0
            #expect(g.width == 32 && g.height == 32)
            #expect(g.x0 >= 0 && g.y0 >= 0 && g.x1 <= 400 && g.y1 <= 300)
            let area = w * h / (400 * 300)
            #expect(area >= 0.08 - 0.01 && area <= 1.0)
            #expect(w / h >= 0.75 - 0.02 && w / h <= 4.0 / 3.0 + 0.02)
        }
    }

    struct ResizeCase: Decodable {
        var source: String
        var width: Int
        var height: Int
        var box: [Double]
        var output: String
    }

    static let resizeCases: [ResizeCase] = {
        struct Index: Decodable { var cases: [ResizeCase] }
        guard let bytes = TestPaths.read(TestPaths.fixtures + "/resize/resize.json"),
            let index = try? JSONDecoder().decode(Index.self, from: Data(bytes))
        else { return [] }
        return index.cases
    }()

    @Test("bilinear resize is within 1 LSB of Pillow", arguments: resizeCases)
    func resizeMatchesPillow(_ c: ResizeCase) throws {
        let (_, image) = try Self.fixture(c.source)
        var g = Geometry(sourceWidth: image.width, sourceHeight: image.height)
        g.x0 = c.box[0]
        g.y0 = c.box[1]
        g.x1 = c.box[2]
        g.y1 = c.box[3]
        g.resize(width: c.width, height: c.height)
        var resampler = Resampler()
        let ours = GeometryRealizer.realize(g, from: image, resampler: &resampler)
        let pillow = try #require(TestPaths.read(TestPaths.fixtures + "/resize/" + c.output))
        #expect(ours.pixels.count == pillow.count)
        let worst = zip(ours.pixels, pillow).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 1, "\(c.output): max difference \(worst)")
    }

    @Test func resizeToTheSameSizeIsTheIdentity() throws {
        let (_, image) = try Self.fixture("codecs/png-rgb-8.png")
        var random = SampleRandom(seed: 0, epoch: 0, sample: 0)
        var same = image
        Resize(width: image.width, height: image.height).apply(to: &same, random: &random)
        #expect(same == image)
    }

    @Test func gaussianNoiseHasTheRequestedMeanAndDeviation() {
        var image = Image(width: 256, height: 256, fill: 128)
        var random = SampleRandom(seed: 5, epoch: 1, sample: 2)
        GaussianNoise(sigma: 0.05).apply(to: &image, random: &random)
        let values = image.pixels.map { Double($0) - 128 }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        #expect(abs(mean) < 0.1, "mean \(mean)")
        #expect(abs(variance.squareRoot() - 0.05 * 255) < 0.2, "std \(variance.squareRoot()) vs \(0.05 * 255)")
    }

    @Test func noiseClampsAtTheEndsOfTheRange() {
        var dark = Image(width: 64, height: 64, fill: 0)
        var random = SampleRandom(seed: 5, epoch: 0, sample: 0)
        GaussianNoise(sigma: 0.5).apply(to: &dark, random: &random)
        #expect(dark.pixels.contains(0) && dark.pixels.contains(255), "clamped, not wrapped")
        let zeros = dark.pixels.filter { $0 == 0 }.count
        #expect(Double(zeros) / Double(dark.pixels.count) > 0.45, "about half the draws are negative and clamp to 0")
    }

    @Test func noiseTableIsStandardNormal() {
        let t = NoiseTable.values.map(Double.init)
        let mean = t.reduce(0, +) / Double(t.count)
        let variance = t.map { $0 * $0 }.reduce(0, +) / Double(t.count) - mean * mean
        #expect(abs(mean) < 1e-6)
        #expect(abs(variance - 1) < 1e-4)
        #expect(t.first! < -3.3 && t.last! > 3.3)
    }

    static let pipeline = Pipeline(
        steps: [
            Resize(shorterSide: 80), RandomCrop(width: 64, height: 64), Flip(horizontal: 0.5, vertical: 0.5),
            GaussianNoise(sigma: 0.05),
        ],
        output: OutputFormat(layout: .nchw, dtype: .float32, mean: OutputFormat.imageNetMean, std: OutputFormat.imageNetStd))

    func runPipeline(_ bytes: [UInt8], seed: UInt64, sample: Int, pipeline: Pipeline = AugmentTests.pipeline) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64 * 64 * 3 * 4)
        var workspace = Pipeline.Workspace()
        var random = SampleRandom(seed: seed, epoch: 0, sample: sample, stream: RandomStream.augment)
        try out.withUnsafeMutableBytes { buf in
            _ = try pipeline.run(
                bytes: bytes, random: &random, workspace: &workspace, into: buf.baseAddress!, width: 64, height: 64)
        }
        return out
    }

    @Test func sameSeedSameBytesDifferentSeedDifferentBytes() throws {
        let (bytes, _) = try Self.fixture("codecs/jpeg-420-baseline.jpg")
        let a = try runPipeline(bytes, seed: 1, sample: 4)
        let b = try runPipeline(bytes, seed: 1, sample: 4)
        let c = try runPipeline(bytes, seed: 2, sample: 4)
        let d = try runPipeline(bytes, seed: 1, sample: 5)
        #expect(a == b)
        #expect(a != c)
        #expect(a != d)
    }

    @Test(
        "decoding only the needed region gives the bytes of a full decode",
        arguments: [
            "codecs/jpeg-420-2000x1500-q25.jpg", "codecs/jpeg-444-baseline.jpg", "codecs/png-rgb-8.png",
            "codecs/jpeg-420-progressive.jpg",
        ])
    func regionPipelineMatchesFullDecode(name: String) throws {
        let (bytes, full) = try Self.fixture(name)
        for sample in 0..<20 {
            for steps in [
                [Resize(shorterSide: 80), RandomCrop(width: 64, height: 64)] as [any Augmentation],
                [RandomResizedCrop(width: 48, height: 40)], [CenterCrop(width: 30, height: 20)],
            ] {
                var random = SampleRandom(seed: 11, epoch: 0, sample: sample)
                var workspace = Pipeline.Workspace()
                let pipeline = Pipeline(steps: steps, allowScaledDecode: false)
                let fused = try pipeline.augment(bytes: bytes, random: &random, workspace: &workspace)
                var random2 = SampleRandom(seed: 11, epoch: 0, sample: sample)
                var reference = full
                for step in steps { step.apply(to: &reference, random: &random2) }
                #expect(fused == reference, "\(name) sample \(sample) \(steps)")
            }
        }
    }

    @Test func scaledDecodeStaysCloseToTheFullDecode() throws {
        let (bytes, _) = try Self.fixture("codecs/jpeg-420-2000x1500-q25.jpg")
        let steps: [any Augmentation] = [Resize(width: 200, height: 150)]
        var workspace = Pipeline.Workspace()
        var r1 = SampleRandom(seed: 0, epoch: 0, sample: 0)
        var r2 = r1
        let scaled = try Pipeline(steps: steps, allowScaledDecode: true).augment(bytes: bytes, random: &r1, workspace: &workspace)
        let exact = try Pipeline(steps: steps, allowScaledDecode: false).augment(bytes: bytes, random: &r2, workspace: &workspace)
        let meanDifference =
            Double(zip(scaled.pixels, exact.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(exact.pixels.count)
        #expect(scaled.width == 200 && scaled.height == 150)
        #expect(meanDifference < 3, "DCT-scaled decode differs from the full decode by \(meanDifference) on average")
    }

    @Test func float32OutputIsNormalisedChannelPlanes() throws {
        var image = Image(width: 2, height: 1)
        image.pixels = [255, 0, 51, 0, 255, 102]
        let format = OutputFormat(layout: .nchw, dtype: .float32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5])
        var out = [Float](repeating: 0, count: 6)
        var random = SampleRandom(seed: 0, epoch: 0, sample: 0)
        out.withUnsafeMutableBytes {
            format.emit(image, flipH: false, flipV: false, noiseSigma: 0, random: &random, into: $0.baseAddress!)
        }
        let expected: [Float] = [1, -1, -2, 2, (0.2 - 0.5) / 0.5, (0.4 - 0.5) / 0.5]
        for (a, b) in zip(out, expected) { #expect(abs(a - b) < 1e-5, "\(out) vs \(expected)") }
    }

    @Test func customAugmentationsRunInThePipeline() throws {
        struct Invert: Augmentation {
            func apply(to image: inout Image, random: inout SampleRandom) {
                for i in image.pixels.indices { image.pixels[i] = 255 - image.pixels[i] }
            }
        }
        let (bytes, image) = try Self.fixture("codecs/png-rgb-8.png")
        var workspace = Pipeline.Workspace()
        var random = SampleRandom(seed: 0, epoch: 0, sample: 0)
        let out = try Pipeline(steps: [Invert()]).augment(bytes: bytes, random: &random, workspace: &workspace)
        #expect(out.pixels == image.pixels.map { 255 - $0 })
    }
}

extension AugmentTests.ResizeCase: CustomTestStringConvertible {
    var testDescription: String { "\(output): \(source) → \(width)x\(height) box \(box)" }
}
