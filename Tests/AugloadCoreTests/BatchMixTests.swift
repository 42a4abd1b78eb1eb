import AugloadCore
import Testing

/// MixUp, CutMix and soft targets on small hand-made batches, against formulas written out here.
@Suite struct BatchMixTests {
    static func random(_ index: Int) -> SampleRandom {
        SampleRandom(seed: 3, epoch: 1, sample: index, stream: RandomStream.mix)
    }

    @Test func drawsArePureFunctionsOfSeedEpochAndBatch() {
        var a = Self.random(5)
        var b = Self.random(5)
        var c = Self.random(6)
        let first = BatchMix.draw(mixup: 0.2, cutmix: 1.0, probability: 1, random: &a, width: 32, height: 24)
        #expect(first == BatchMix.draw(mixup: 0.2, cutmix: 1.0, probability: 1, random: &b, width: 32, height: 24))
        #expect(first != BatchMix.draw(mixup: 0.2, cutmix: 1.0, probability: 1, random: &c, width: 32, height: 24))
        var off = Self.random(5)
        #expect(BatchMix.draw(mixup: 0, cutmix: 0, probability: 1, random: &off, width: 32, height: 24).kind == nil)
    }

    @Test func bothMethodsAreChosenHalfTheTimeAndMixProbSkipsBatches() {
        var counts: [String: Int] = [:]
        for i in 0..<4000 {
            var r = Self.random(i)
            let m = BatchMix.draw(mixup: 0.2, cutmix: 1.0, probability: 0.8, random: &r, width: 16, height: 16)
            counts[m.kind?.rawValue ?? "none", default: 0] += 1
            if m.kind == nil { #expect(m.labelLambda == 1) }
        }
        // 0.8 × 0.5 × 4000 = 1600 each, 800 unmixed; 5 standard deviations of slack.
        #expect(abs(counts["mixup", default: 0] - 1600) < 160 && abs(counts["cutmix", default: 0] - 1600) < 160)
        #expect(abs(counts["none", default: 0] - 800) < 130)
    }

    /// Beta(α, α) has mean 1/2 and variance 1/(4(2α + 1)).
    @Test(arguments: [0.2, 1.0, 3.0])
    func lambdaFollowsBetaAlphaAlpha(alpha: Double) {
        var r = Self.random(0)
        let n = 20000
        let draws = (0..<n).map { _ in
            BatchMix.draw(mixup: alpha, cutmix: 0, probability: 1, random: &r, width: 8, height: 8).lambda
        }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let expected = 1 / (4 * (2 * alpha + 1))
        #expect(abs(mean - 0.5) < 0.01 && abs(variance - expected) < 0.06 * expected)
        #expect(draws.allSatisfy { (0...1).contains($0) })
    }

    @Test func cutMixBoxesAreTorchvisionsAndTheirLambdaIsTheTrueArea() {
        for i in 0..<500 {
            var r = Self.random(i)
            let m = BatchMix.draw(mixup: 0, cutmix: 1.0, probability: 1, random: &r, width: 40, height: 30)
            let box = try! #require(m.box)
            #expect(0 <= box.x1 && box.x1 <= box.x2 && box.x2 <= 40 && 0 <= box.y1 && box.y1 <= box.y2 && box.y2 <= 30)
            let r2 = 0.5 * (1 - m.lambda).squareRoot()
            #expect(box.x2 - box.x1 <= 2 * Int(r2 * 40) && box.y2 - box.y1 <= 2 * Int(r2 * 30))
            #expect(m.labelLambda == 1 - Double((box.x2 - box.x1) * (box.y2 - box.y1)) / 1200)
        }
    }

    /// Three 2×2 images; MixUp rolls by one: image i takes λ of itself and 1 − λ of image i − 1.
    @Test func mixUpIsTheRolledWeightedSumRoundedAsTorchvision() {
        let plane = 2 * 2 * 3
        var images = (0..<(3 * plane)).map { Float($0) / 7 }
        let original = images
        var mix = BatchMix()
        mix.kind = .mixup
        mix.lambda = 0.3
        mix.labelLambda = 0.3
        var scratch: [Float] = []
        images.withUnsafeMutableBufferPointer {
            mix.apply(to: $0.baseAddress!, count: 3, width: 2, height: 2, channelsFirst: false, scratch: &scratch)
        }
        for i in 0..<3 {
            let partner = (i + 2) % 3
            for k in 0..<plane {
                let a = original[i * plane + k] * Float(0.3)
                let b = original[partner * plane + k] * Float(1.0 - 0.3)
                #expect(images[i * plane + k] == a + b)
            }
        }
    }

    @Test(arguments: [false, true])
    func cutMixCopiesThePartnersBoxInEitherLayout(channelsFirst: Bool) {
        let (w, h) = (5, 4)
        let plane = w * h * 3
        var images = (0..<(2 * plane)).map { Float($0) }
        let original = images
        var mix = BatchMix()
        mix.kind = .cutmix
        mix.box = (x1: 1, y1: 1, x2: 3, y2: 4)
        var scratch: [Float] = []
        images.withUnsafeMutableBufferPointer {
            mix.apply(to: $0.baseAddress!, count: 2, width: w, height: h, channelsFirst: channelsFirst, scratch: &scratch)
        }
        for i in 0..<2 {
            let partner = 1 - i
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 {
                        let k = channelsFirst ? (c * h + y) * w + x : (y * w + x) * 3 + c
                        let inBox = (1..<3).contains(x) && (1..<4).contains(y)
                        #expect(images[i * plane + k] == original[(inBox ? partner : i) * plane + k])
                    }
                }
            }
        }
    }

    @Test func targetsAreSmoothedOneHotRowsMixedLikeTheImages() {
        var mix = BatchMix()
        mix.kind = .mixup
        mix.lambda = 0.75
        mix.labelLambda = 0.75
        var targets = [Float](repeating: -1, count: 3 * 4)
        targets.withUnsafeMutableBufferPointer { mix.targets(labels: [0, 2, 2], classes: 4, smoothing: 0.1, into: $0) }
        let on = Float(1 - 0.1 + 0.1 / 4)
        let off = Float(0.1 / 4)
        // Row 0 mixes label 0 (own) with label 2 (the last sample).
        #expect(targets[0] == on * 0.75 + off * Float(0.25))
        #expect(targets[2] == off * 0.75 + on * Float(0.25))
        #expect(targets[1] == off * 0.75 + off * Float(0.25))
        for row in 0..<3 { #expect(abs(targets[(row * 4)..<(row * 4 + 4)].reduce(0, +) - 1) < 1e-6) }
        var unmixed = BatchMix()
        unmixed.kind = nil
        targets.withUnsafeMutableBufferPointer { unmixed.targets(labels: [1, 0, 3], classes: 4, smoothing: 0, into: $0) }
        #expect(targets == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    }
}
