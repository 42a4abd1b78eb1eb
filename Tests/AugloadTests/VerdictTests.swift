import TestSupport
import Testing

@testable import Augload

/// A file's verdict (good, decoded with warnings, refused with this reason) is the full decode's
/// under every crop, size and seed: damage below the rows a crop needs is seen all the same.
@Suite struct VerdictTests {
    /// Every image under `Fixtures/bad`, `Fixtures/damaged` (damage in the last few percent of the
    /// data, see `Scripts/make_damaged.py`) and the public conformance data, as paths.
    static let files: [String] = {
        var paths: [String] = []
        func walk(_ dir: String) {
            for name in TestPaths.list(dir) {
                let path = dir + "/" + name
                let lower = name.lowercased()
                if lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
                    paths.append(path)
                } else if !name.contains(".") {
                    walk(path)
                }
            }
        }
        walk(TestPaths.fixtures + "/bad")
        walk(TestPaths.fixtures + "/damaged")
        // The public conformance files, committed under Fixtures/conformance.
        walk(TestPaths.fixtures + "/conformance")
        return paths
    }()

    static let crops: [CropMode] = [.random, .resized, .center]

    func pipelineVerdict(_ bytes: [UInt8], crop: CropMode, size: Int, seed: UInt64, strict: Bool = false) -> Verdict {
        var options = ImageBatchOptions()
        options.crop = crop
        options.size = size
        options.seed = seed
        options.flip = .hv
        options.decode = DecodeOptions(strict: strict)
        var workspace = Pipeline.Workspace()
        var random = SampleRandom(seed: seed, epoch: Int(seed), sample: 7, stream: RandomStream.augment)
        do throws(DecodeError) {
            _ = try options.pipeline.augment(bytes: bytes, random: &random, workspace: &workspace)
            return Verdict(warnings: workspace.lastWarnings)
        } catch {
            return .refused(error)
        }
    }

    @Test("every crop, size and seed gets the full decode's verdict", arguments: files)
    func cropVerdictIsTheFullDecodes(path: String) throws {
        let bytes = try #require(TestPaths.read(path))
        var image = Image()
        for strict in [false, true] {
            let full = Verdict.of(bytes, options: DecodeOptions(strict: strict), image: &image)
            // Damaged files get the whole matrix; good ones one case per crop (a good file must
            // stay good when the rows below the crop are read too).
            let sizes = full == .good ? [64] : [16, 64, 224]
            let seeds: [UInt64] = full == .good ? [0] : [0, 1, 2, 3]
            for crop in Self.crops {
                for size in sizes {
                    for seed in seeds {
                        let verdict = pipelineVerdict(bytes, crop: crop, size: size, seed: seed, strict: strict)
                        #expect(
                            verdict == full,
                            "\(path): crop \(crop) size \(size) seed \(seed) strict \(strict): \(verdict), full decode: \(full)")
                    }
                }
            }
        }
    }

    @Test func lateDamageIsRefusedUnderEveryCrop() throws {
        let expected: [String: DecodeError.Code] = [
            "png-rgb-8-cut-95.png": .truncated, "png-rgb-8-last-idat-crc.png": .corrupt, "png-rgb-8-adler.png": .corrupt,
            "png-rgb-8-short-stream.png": .truncated, "png-rgb-8-bad-filter-last-row.png": .corrupt,
            "png-rgb-8-interlaced-adler.png": .corrupt, "png-rgb-8-multi-idat-last-idat-crc.png": .corrupt,
            "jpeg-baseline-cut-95.jpg": .truncated, "jpeg-baseline-cut-95-eoi.jpg": .truncated,
            "jpeg-baseline-no-eoi.jpg": .truncated, "jpeg-restart-no-eoi.jpg": .truncated,
        ]
        for (name, code) in expected {
            let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/damaged/" + name))
            for crop in Self.crops {
                let verdict = pipelineVerdict(bytes, crop: crop, size: 16, seed: 0)
                guard case .refused(let error) = verdict else {
                    Issue.record("\(name) under crop \(crop): \(verdict), expected \(code)")
                    continue
                }
                #expect(error.code == code, "\(name) under crop \(crop): \(error)")
            }
        }
    }

    @Test func corruptDataBelowTheCropWarnsAndStrictRefuses() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/damaged/jpeg-baseline-corrupt-95.jpg"))
        for seed: UInt64 in 0..<4 {
            guard case .warnings(let w) = pipelineVerdict(bytes, crop: .random, size: 32, seed: seed) else {
                Issue.record("seed \(seed): expected warnings")
                continue
            }
            #expect(w.message.contains("Corrupt JPEG data"), "\(w.message)")
            let strict = pipelineVerdict(bytes, crop: .random, size: 32, seed: seed, strict: true)
            guard case .refused(let error) = strict else {
                Issue.record("seed \(seed): strict mode must refuse, got \(strict)")
                continue
            }
            #expect(error.code == .warning)
        }
    }

    @Test func damageAfterTheImageDataIsNotAVerdict() throws {
        for name in ["png-rgb-8-no-iend.png", "png-rgb-8-iend-crc.png", "jpeg-baseline-trailing-garbage.jpg"] {
            let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/damaged/" + name))
            var image = Image()
            #expect(Verdict.of(bytes, image: &image) == .good, "\(name): like Pillow, nothing after the image data is read")
        }
    }

    @Test func theListCoversTheDamagedFixturesAndTheAcceptanceData() {
        #expect(Self.files.filter { $0.contains("/Fixtures/damaged/") }.count >= 30)
        #expect(Self.files.filter { $0.contains("/Fixtures/bad/") }.count >= 9)
        #expect(
            Self.files.filter { $0.contains("/Fixtures/conformance/") }.count > 300)
    }
}

/// The fixed-size verdict records `check`'s batches carry from the workers.
@Suite struct VerdictRecordTests {
    func roundTrip(_ verdict: Verdict) -> Verdict {
        var record = [UInt8](repeating: 0xAA, count: VerdictSource.recordBytes)
        record.withUnsafeMutableBytes { VerdictSource.encode(verdict, into: $0) }
        return record.withUnsafeBytes { VerdictSource.decode($0) }
    }

    @Test func everyKindOfVerdictSurvivesTheRecord() {
        #expect(roundTrip(.good) == .good)
        let warned = Verdict.warnings(DecodeWarnings(count: 4, message: "JPEG warning: Corrupt JPEG data: bad Huffman code"))
        #expect(roundTrip(warned) == warned)
        for code in DecodeError.Code.allCases {
            let refused = Verdict.refused(DecodeError(code, message: "reason for \(code)"))
            #expect(roundTrip(refused) == refused)
        }
    }

    @Test func aLongReasonIsCutAtACharacterBoundary() {
        let long = String(repeating: "é", count: 200)  // 400 bytes of two-byte characters
        guard case .refused(let error) = roundTrip(.refused(DecodeError(.corrupt, message: long))) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.code == .corrupt)
        #expect(error.message.utf8.count <= VerdictSource.recordBytes - 8 && error.message.utf8.count >= 240)
        #expect(error.message.allSatisfy { $0 == "é" }, "no broken character at the cut")
    }
}
