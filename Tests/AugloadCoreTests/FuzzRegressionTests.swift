import AugloadCore
import TestSupport
import Testing

/// The inputs in `Fixtures/fuzz-regressions`: the ones that crashed the C decoders (or tripped a
/// sanitizer) under `Scripts/fuzz.sh`, and a small set that reaches every wrapper path the fuzzer
/// reached. Each must go through the normal decoder, with the options the fuzzer used and with
/// DCT scales and a region of our own, and either decode or fail with a reason: never crash.
@Suite struct FuzzRegressionTests {
    /// The regression inputs: every file but the README.
    static let names: [String] = TestPaths.list(TestPaths.fixtures + "/fuzz-regressions").filter { !$0.hasSuffix(".md") }

    /// A fuzzer input: 12 bytes of decode options (see `Scripts/fuzz/fuzz_decode.c`), then the file.
    struct FuzzInput {
        var file: [UInt8]
        var options = DecodeOptions()
        var scale = 1
        var wantsRegion = false
        /// Region parameters, reduced modulo the scaled image size as the fuzz target does.
        var regionBytes = [Int](repeating: 0, count: 4)
        /// The input exercised the C argument checks with raw values the Swift API never passes.
        var raw = false

        init?(_ bytes: [UInt8]) {
            guard bytes.count >= 12 else { return nil }
            let flags = bytes[0]
            file = Array(bytes[12...])
            let limit = 1 + (Int(bytes[1]) | Int(bytes[2]) << 8 | Int(bytes[3]) << 16) % (1 << 22)
            options = DecodeOptions(maxPixels: flags & 0x80 != 0 ? 90_000_000 : limit, strict: flags & 4 != 0)
            scale = [1, 2, 4, 8][Int(flags & 3)]
            wantsRegion = flags & 8 != 0
            raw = flags & 0x10 != 0
            regionBytes = (0..<4).map { Int(bytes[4 + 2 * $0]) | Int(bytes[5 + 2 * $0]) << 8 }
        }

        /// The region the fuzz target decoded inside a `width × height` (scaled) image.
        func region(width: Int, height: Int) -> PixelRect {
            let w = 1 + regionBytes[2] % width, h = 1 + regionBytes[3] % height
            return PixelRect(x: regionBytes[0] % (width - w + 1), y: regionBytes[1] % (height - h + 1), width: w, height: h)
        }
    }

    /// Decodes and returns the image, or nil after checking the error carries a reason.
    static func attempt(
        _ bytes: [UInt8], _ what: String, options: DecodeOptions = .init(), scale: Int = 1, region: PixelRect? = nil
    ) -> (image: Image, warnings: Int)? {
        var image = Image()
        do {
            let warnings = try ImageDecoder.decode(bytes, into: &image, options: options, scale: scale, region: region)
            #expect(image.width > 0 && image.height > 0 && image.pixels.count == image.width * image.height * 3, "\(what)")
            if let region { #expect(image.width == region.width && image.height == region.height, "\(what)") }
            return (image, warnings.count)
        } catch {
            #expect(!error.message.isEmpty, "\(what): an error needs a reason")
            return nil
        }
    }

    @Test func aJPEGWithThousandsOfScansIsRefusedQuickly() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/fuzz-regressions/crash-jpeg-3573-scans.fuzz"))
        let file = try #require(FuzzInput(bytes)).file
        #expect(try ImageDecoder.header(file).width == 2048, "the header alone is fine")
        do {
            _ = try ImageDecoder.decode(file)
            Issue.record("decoded a JPEG of 3,573 scans")
        } catch {
            #expect(error.code == .unsupported && error.message.contains("500 scans"), "\(error)")
        }
    }

    @Test func theCorpusIsThere() {
        #expect(TestPaths.exists(TestPaths.fixtures + "/fuzz-regressions/README.md"))
        #expect(!Self.names.isEmpty, "Fixtures/fuzz-regressions holds the inputs the fuzzer found")
    }

    @Test("a fuzz regression input decodes or fails with a DecodeError, whole, scaled and as a region", arguments: names)
    func decodesOrFailsCleanly(name: String) throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/fuzz-regressions/" + name))
        let input = try #require(FuzzInput(bytes), "\(name): shorter than the 12-byte options header")
        let file = input.file

        // The file alone, with default options, then at every DCT scale.
        for scale in [1, 2, 4, 8] {
            _ = Self.attempt(file, "\(name) scale 1/\(scale)", scale: scale)
        }
        // With a region: the middle half of the image at scale 1/2, and the fuzzer's own options.
        if let header = try? ImageDecoder.header(file) {
            let d = header.format == .jpeg ? 2 : 1
            let (w, h) = ((header.width + d - 1) / d, (header.height + d - 1) / d)
            if w > 0 && h > 0 {
                let middle = PixelRect(x: w / 4, y: h / 4, width: max(w / 2, 1), height: max(h / 2, 1))
                _ = Self.attempt(file, "\(name) scale 1/\(d) region \(middle)", scale: d, region: middle)
            }
        }
        guard !input.raw else { return }  // raw options only make sense to the C API
        let full = Self.attempt(file, "\(name) fuzzer options", options: input.options, scale: input.scale)
        guard input.wantsRegion, let header = try? ImageDecoder.header(file, options: input.options) else { return }
        let d = header.format == .jpeg ? input.scale : 1
        let (w, h) = ((header.width + d - 1) / d, (header.height + d - 1) / d)
        guard w > 0 && h > 0 else { return }
        let rect = input.region(width: w, height: h)
        let part = Self.attempt(file, "\(name) fuzzer region \(rect)", options: input.options, scale: input.scale, region: rect)
        // Where both decode cleanly, the region is the full decode, cropped.
        if let full, let part, full.warnings == 0, part.warnings == 0 {
            #expect(part.image == crop(full.image, rect), "\(name): region \(rect) at scale 1/\(input.scale)")
        }
    }
}
