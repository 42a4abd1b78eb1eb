import AugloadCore
import Testing

@Suite struct SampleRandomTests {
    @Test func isAPureFunctionOfSeedEpochAndSample() {
        var a = SampleRandom(seed: 1, epoch: 2, sample: 3)
        var b = SampleRandom(seed: 1, epoch: 2, sample: 3)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
        for other in [
            SampleRandom(seed: 2, epoch: 2, sample: 3), SampleRandom(seed: 1, epoch: 3, sample: 3),
            SampleRandom(seed: 1, epoch: 2, sample: 4), SampleRandom(seed: 1, epoch: 2, sample: 3, stream: 1),
        ] {
            var o = other
            var c = SampleRandom(seed: 1, epoch: 2, sample: 3)
            #expect(o.next() != c.next())
        }
    }

    @Test func integersAreUniform() {
        var r = SampleRandom(seed: 42, epoch: 0, sample: 0)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[r.nextInt(below: 10)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
        let units = (0..<10_000).map { _ in r.nextUnit() }
        #expect(units.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    /// Dirichlet(α): weights summing to 1 with means αᵢ / Σα.
    @Test func dirichletWeightsSumToOneWithTheirMeans() {
        var random = SampleRandom(seed: 5, epoch: 0, sample: 0, stream: 0)
        let alphas = [1.0, 2.0, 5.0]
        var means = [0.0, 0.0, 0.0]
        let n = 20000
        for _ in 0..<n {
            let w = random.nextDirichlet(alphas)
            #expect(abs(w.reduce(0, +) - 1) < 1e-12 && w.allSatisfy { $0 >= 0 })
            for i in 0..<3 { means[i] += w[i] / Double(n) }
        }
        for i in 0..<3 { #expect(abs(means[i] - alphas[i] / 8) < 0.01, "\(means)") }
    }
}
