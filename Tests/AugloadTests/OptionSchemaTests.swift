import AugloadCore
import FoundationEssentials
import TestSupport
import Testing

@testable import Augload

/// ``ImageBatchOptions`` is coded through ``OptionSchema``: the client protocol's `hello.options`
/// and the worker wire are one flat object of the schema's names.
@Suite struct OptionSchemaTests {
    static func decode(_ json: String) throws -> ImageBatchOptions {
        try JSONDecoder().decode(ImageBatchOptions.self, from: Data(json.utf8))
    }

    @Test func missingKeysKeepTheirDefaults() throws {
        #expect(try Self.decode("{}") == ImageBatchOptions())
        let o = try Self.decode(#"{"batch_size": 8, "max_pixels": 1000, "world_size": 3, "rank": 2, "cache": "ram", "mix_prob": 0.5}"#)
        var expected = ImageBatchOptions()
        expected.batchSize = 8
        expected.decode.maxPixels = 1000
        expected.sharding.worldSize = 3
        expected.sharding.rank = 2
        expected.cache = "ram"
        expected.mixProb = 0.5
        #expect(o == expected)
    }

    @Test func everyOptionSurvivesTheWire() throws {
        var o = ImageBatchOptions()
        o.batchSize = 3
        o.size = 77
        o.crop = .resized
        o.flip = .hv
        o.noise = 0.25
        o.layout = .nchw
        o.mean = [0.1, 0.2, 0.3]
        o.std = [2, 3, 4]
        o.shuffle = false
        o.seed = UInt64.max
        o.dropLast = true
        o.onError = .skip
        o.decode = DecodeOptions(maxPixels: 12345, strict: true)
        o.sharding = Sharding(rank: 1, worldSize: 4, remainder: .drop)
        o.scaledDecode = false
        o.cache = "ram:1G"
        o.cacheMaxSide = 512
        o.autoAugment = "randaugment:2:9"
        o.colorJitter = "0.4"
        o.grayscale = 0.2
        o.blur = "5"
        o.erasing = 0.25
        o.erasingValue = "random"
        o.mixup = 0.2
        o.cutmix = 1
        o.mixProb = 0.5
        o.labelSmoothing = 0.1
        let bytes = try TypeCodec.encodeJSON(o)
        #expect(try TypeCodec.decodeJSON(ImageBatchOptions.self, bytes) == o)
        // Every key is the schema's, none is missing.
        let text = String(decoding: bytes, as: UTF8.self)
        for spec in OptionSchema.sequence { #expect(text.contains("\"\(spec.name)\":"), "\(spec.name) not encoded") }
    }

    @Test func anUnknownKeyOrAWrongKindIsRefusedByName() throws {
        for (json, words) in [
            (#"{"batchsize": 8}"#, "unknown option 'batchsize'"),
            (#"{"batch_size": "8"}"#, "batch_size must be an integer"),
            (#"{"crop": "middle"}"#, "crop must be one of none, center, random, resized"),
            (#"{"cache": 3}"#, "cache must be a string or null"),
        ] {
            do {
                _ = try Self.decode(json)
                Issue.record("\(json) was accepted")
            } catch let error as LoaderError {
                #expect(error.code == .invalidOptions && error.message.contains(words), "\(error.message)")
            }
        }
    }

    @Test func rangesComeFromTheSchemaAndNameTheOption() throws {
        for spec in OptionSchema.sequence {
            guard let range = spec.range else { continue }
            var o = ImageBatchOptions()
            let outside = range.lowerBound - 1
            let json = spec.kind == .int ? "{\"\(spec.name)\": \(Int(outside))}" : "{\"\(spec.name)\": \(outside)}"
            o = try Self.decode(json)
            do throws(LoaderError) {
                try o.validate()
                Issue.record("\(spec.name) = \(outside) passed")
            } catch {
                #expect(error.message.hasPrefix("\(spec.name) must be in \(OptionSpec.show(range)), got"), "\(error.message)")
            }
        }
    }

    @Test func theLoaderRefusesAQueueOfOne() throws {
        let folder = try ImageFolder(root: TestPaths.fixtures + "/images")
        let sequence = try ImageBatchSequence(folder: folder, options: ImageBatchOptions())
        do throws(LoaderError) {
            _ = try Loader(sequence, workers: 0, maxQueueSize: 1)
            Issue.record("a queue of 1 was accepted")
        } catch {
            #expect(error.message == "queue must be in 2...4096, got 1")
        }
    }
}
