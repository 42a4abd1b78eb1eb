import TestSupport
import Testing

@testable import AugloadCore

/// The recipe steps' draws against torchvision's tables, their determinism, the explain record
/// against what runs, and the option strings. (Pixel conformance against torchvision itself is in
/// the Python suite, `Tests/Python/test_recipe.py`, and `Scripts/recipe/conformance_*.py`.)
@Suite struct RecipeTests {
    @Test func magnitudeBinsAreTorchvisionsFloat32Tables() {
        // torch.linspace(0.0, 0.99, 31) and TrivialAugmentWide's posterize bins, printed by torch 2.15.
        let wide = AutoAugmentation(.trivialAugmentWide())
        let shear = wide.magnitudes(.shearX, bins: 31, width: 176, height: 176)!
        #expect(Double(shear[1]) == 0.032999999821186066)
        #expect(Double(shear[19]) == 0.6270000338554382)
        #expect(Double(shear[30]) == 0.9900000095367432)
        #expect(
            wide.magnitudes(.posterize, bins: 31, width: 1, height: 1)!.map { Int($0) }
                == [8, 8, 8, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2])
        let rand = AutoAugmentation(.randAugment())
        #expect(Double(rand.magnitudes(.translateX, bins: 31, width: 176, height: 176)![30]) == 79.75830841064453)
        #expect(Double(rand.magnitudes(.solarize, bins: 31, width: 1, height: 1)![1]) == 0.9666666388511658)
        let auto = AutoAugmentation(.autoAugmentImageNet)
        #expect(auto.magnitudes(.posterize, bins: 10, width: 1, height: 1)!.map { Int($0) } == [8, 8, 7, 7, 6, 6, 5, 5, 4, 4])
    }

    @Test func drawsArePureFunctionsOfTheSampleStream() {
        let steps: [any RecipeStep] = [
            AutoAugmentation(.trivialAugmentWide()), AutoAugmentation(.randAugment(ops: 3, magnitude: 12, bins: 31)),
            AutoAugmentation(.autoAugmentImageNet), ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1),
            RandomGrayscale(probability: 0.5), GaussianBlur(kernel: 5),
        ]
        for step in steps {
            var seen = Set<String>()
            for sample in 0..<200 {
                var a = SampleRandom(seed: 3, epoch: 1, sample: sample, stream: RandomStream.augment)
                var b = a
                let first = step.draw(width: 176, height: 160, random: &a)
                #expect(first == step.draw(width: 176, height: 160, random: &b))
                seen.insert(String(describing: first))
            }
            #expect(seen.count > 1, "\(step) drew the same operations for 200 samples")
        }
    }

    @Test func trivialAugmentWideDrawsEveryOperationOfItsSpaceUniformly() {
        var counts: [String: Int] = [:]
        for sample in 0..<14_000 {
            var random = SampleRandom(seed: 1, epoch: 0, sample: sample)
            let ops = AutoAugmentation(.trivialAugmentWide()).draw(width: 64, height: 64, random: &random)
            #expect(ops.count <= 1)
            let name = ops.first.map { $0.call.op } ?? "identity"
            counts[name, default: 0] += 1
        }
        // Identity, 4 affine kinds, rotate, 4 adjustments, posterize, solarize, autocontrast,
        // equalize: 1000 draws each expected (rotate and some bins of 0 stay in their kind).
        #expect(counts["affine", default: 0] > 3600 && counts["affine", default: 0] < 4400, "\(counts)")
        for name in ["rotate", "adjust_brightness", "posterize", "solarize", "autocontrast", "equalize"] {
            #expect((850...1150).contains(counts[name, default: 0]), "\(name): \(counts)")
        }
    }

    @Test func theExplainRecordIsWhatTheStepsApply() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/images/cat/cat-05.jpg"))
        let pipeline = Pipeline(
            steps: [
                RandomResizedCrop(width: 48, height: 48), Flip(), AutoAugmentation(.randAugment()),
                ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1), RandomErasing(probability: 0.5),
            ],
            output: OutputFormat(layout: .nchw, dtype: .float32))
        let header = try ImageDecoder.header(bytes)
        var erased = 0
        for sample in 0..<40 {
            var random = SampleRandom(seed: 9, epoch: 0, sample: sample, stream: RandomStream.augment)
            var again = random
            let calls = pipeline.explain(header: header, random: &random)
            #expect(calls.first?.op == "augload_decode")
            #expect(calls.contains { $0.op == "normalize" })
            erased += calls.last?.op == "erase" ? 1 : 0
            // The sample made with the same stream draws exactly as many numbers as the record.
            var workspace = Pipeline.Workspace()
            var out = [Float](repeating: 0, count: 3 * 48 * 48)
            try out.withUnsafeMutableBytes { buffer in
                _ = try pipeline.run(
                    bytes: bytes, random: &again, workspace: &workspace, into: buffer.baseAddress!, width: 48, height: 48)
            }
            #expect(again.next() == random.next(), "sample \(sample): the record and the run drew differently")
        }
        #expect(erased > 5 && erased < 35)
    }

    @Test func rotationsByQuarterTurnsMoveIndicesAsTorchRot90() {
        var image = Image(width: 3, height: 3)
        for i in 0..<9 { image.pixels[i * 3] = UInt8(i) }
        var scratch = RecipeScratch()
        var once = image
        RecipeOp.rotate(angle: 90).apply(to: &once, scratch: &scratch)
        #expect((0..<9).map { once.pixels[$0 * 3] } == [2, 5, 8, 1, 4, 7, 0, 3, 6])  // torch.rot90(k=1)
        var thrice = image
        RecipeOp.rotate(angle: -90).apply(to: &thrice, scratch: &scratch)
        #expect((0..<9).map { thrice.pixels[$0 * 3] } == [6, 3, 0, 7, 4, 1, 8, 5, 2])  // torch.rot90(k=3)
        var none = image
        RecipeOp.rotate(angle: 360).apply(to: &none, scratch: &scratch)
        #expect(none == image)
    }

    @Test func optionStringsAreParsedOnceWithTheirRanges() throws {
        #expect(try RecipeOptions.autoAugment("randaugment:3:12") == .randAugment(ops: 3, magnitude: 12, bins: 31))
        #expect(try RecipeOptions.autoAugment("TrivialAugment") == .trivialAugmentWide())
        #expect(try RecipeOptions.colorJitter("0.4") == ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4))
        #expect(try RecipeOptions.blur("5").kernel == 5)
        #expect(try RecipeOptions.autoAugment("augmix") == .augMix(severity: 3, width: 3, depth: -1, alpha: 1))
        #expect(try RecipeOptions.autoAugment("augmix:5:2:3:0.5") == .augMix(severity: 5, width: 2, depth: 3, alpha: 0.5))
        for bad in ["randaugment:2:31", "randaugment:x", "augmix:0", "augmix:3:9", "augmix:3:3:0", "augmix:3:3:-1:0", "autoaugment:1", ""] {
            #expect(throws: RecipeOptions.Invalid.self) { try RecipeOptions.autoAugment(bad) }
        }
        for bad in ["0.4,0.4", "-1", "0.4,0.4,0.4,0.6", "a"] {
            #expect(throws: RecipeOptions.Invalid.self) { try RecipeOptions.colorJitter(bad) }
        }
        for bad in ["4", "0", "5,0,1", "5,2,1"] {
            #expect(throws: RecipeOptions.Invalid.self) { try RecipeOptions.blur(bad) }
        }
    }

    /// AugMix's mix is torchvision's float32 arithmetic: a chain of identity operations (magnitude
    /// 0) leaves the image, since the weights sum to 1 and the truncation keeps whole values; and
    /// the draws are a pure function of the sample's stream.
    @Test func augMixMixesChainsByItsWeights() throws {
        let pixels = (0..<(17 * 9 * 3)).map { UInt8(($0 * 37) % 256) }
        let image = Image(width: 17, height: 9, pixels: pixels)
        let identity = AugMixDraw(
            originalWeight: 0.5, chainWeights: [0.25, 0.25], chains: [[.brightness(1)], [.rotate(angle: 0, bilinear: true)]])
        var out = image
        var scratch = RecipeScratch()
        RecipeOp.augMix(identity).apply(to: &out, scratch: &scratch)
        #expect(out.pixels == pixels)
        let dark = AugMixDraw(originalWeight: 0.5, chainWeights: [0.5], chains: [[.brightness(0)]])
        out = image
        RecipeOp.augMix(dark).apply(to: &out, scratch: &scratch)
        #expect(out.pixels == pixels.map { UInt8((Float(0.5) * Float($0)).rounded(.towardZero)) })
        let step = AutoAugmentation(.augMix())
        for sample in 0..<50 {
            var a = SampleRandom(seed: 1, epoch: 0, sample: sample, stream: RandomStream.augment)
            var b = a
            let first = step.draw(width: 64, height: 48, random: &a)
            #expect(first == step.draw(width: 64, height: 48, random: &b))
            guard case .augMix(let draw) = try #require(first.first) else { Issue.record("not an AugMix draw"); continue }
            #expect(draw.chains.count == 3 && draw.chains.allSatisfy { (1...3).contains($0.count) })
            #expect(abs(draw.originalWeight + draw.chainWeights.reduce(0, +) - 1) < 1e-5)
        }
    }
}
