import AugloadCore
import TestSupport
import Testing

/// The decoder against Pillow's `convert('RGB')` on every committed fixture and every public
/// conformance file in Fixtures/conformance, and its errors on damaged files.
@Suite struct DecoderTests {
    /// Files where we deliberately part from Pillow, with what we do instead and why. Everything
    /// else must match Pillow byte for byte, or fail where Pillow fails.
    static let knownDifferences: [String: (expected: DecodeError.Code?, reason: String)] = [
        "conformance/pngsuite/xcsn0g01.png": (.corrupt, "IDAT CRC mismatch: PngSuite says reject; Pillow skips CRC checks"),
        "conformance/libpng/crashers/badcrc.png": (.corrupt, "bad CRC: libpng rejects it; Pillow skips CRC checks"),
        "conformance/image-png/bugfixes/x_interlaced_chck.png": (
            .corrupt, "bad IDAT CRC (an x_ file: damaged); Pillow skips CRC checks"
        ),
        "conformance/libpng/crashers/huge_IDAT.png": (
            .truncated, "an IDAT claims more bytes than the file has: the data ends early"
        ),
        "conformance/jpeg-decoder/crashtest/dc-predictor-overflow.jpg": (
            .truncated, "libjpeg pads the missing scan data grey; a silent grey image is an error for us"
        ),
        "conformance/image-png/bugfixes/cicp_pq.png": (
            nil, "valid PNG with a cICP chunk: libpng decodes it; Pillow cannot identify it"
        ),
        "conformance/image-png/bugfixes/issue#430.png": (nil, "valid PNG libpng decodes; Pillow cannot identify it"),
        "conformance/libpng/crashers/empty_ancillary_chunks.png": (
            nil, "empty cHRM/other ancillary chunks are warnings to libpng; Pillow raises"
        ),
    ]

    static var referenceKeys: [String] {
        Reference.all.keys.filter { !$0.hasPrefix("_") }.sorted()
    }

    @Test("decodes exactly as Pillow does, or refuses what Pillow refuses", arguments: referenceKeys)
    func matchesPillow(key: String) throws {
        let reference = try #require(Reference.all[key])
        let path = Reference.path(for: key)
        guard let bytes = TestPaths.read(path) else {
            Issue.record("missing file \(path)")
            return
        }
        var image = Image()
        let outcome = Result { () throws(DecodeError) in try ImageDecoder.decode(bytes, into: &image) }
        if let known = Self.knownDifferences[key] {
            switch (outcome, known.expected) {
            case (.success, nil): break
            case (.failure(let error), let code?): #expect(error.code == code, "\(key): \(error) (\(known.reason))")
            default:
                Issue.record("\(key): expected \(known.expected.map { "\($0)" } ?? "a decode"), got \(outcome) (\(known.reason))")
            }
            return
        }
        switch (outcome, reference.sha256) {
        case (.success, let expected?):
            #expect(image.width == reference.width && image.height == reference.height, "\(key): size")
            #expect(sha256Hex(image.pixels) == expected, "\(key): pixels differ from Pillow's")
        case (.failure(let error), let expected?):
            Issue.record("\(key): Pillow decodes it (\(expected.prefix(8))…) but we fail: \(error)")
        case (.success, nil):
            Issue.record("\(key): Pillow refuses it (\(reference.error ?? "?")) but we decode it")
        case (.failure(let error), nil):
            #expect(!error.message.isEmpty, "\(key): an error needs a reason")
        }
    }

    @Test func conformanceFilesAreInTheRepository() {
        #expect(TestPaths.exists(TestPaths.conformance + "/pngsuite/basn2c08.png"), "Fixtures/conformance is committed")
        #expect(Self.referenceKeys.filter { $0.hasPrefix("conformance/") }.count > 300)
    }

    @Test("PngSuite's x*.png files are all rejected")
    func pngSuiteCorruptFilesAreRejected() throws {
        let names = TestPaths.list(TestPaths.conformance + "/pngsuite").filter { $0.hasPrefix("x") && $0.hasSuffix(".png") }
        #expect(names.count == 14)
        for name in names {
            let bytes = try #require(TestPaths.read(TestPaths.conformance + "/pngsuite/" + name))
            #expect(throws: DecodeError.self, "\(name) must be rejected") { _ = try ImageDecoder.decode(bytes) }
        }
    }

    static let badCases: [(String, DecodeError.Code)] = [
        ("empty.jpg", .empty),
        ("not-an-image.jpg", .format),
        ("truncated.jpg", .truncated),
        ("truncated.png", .truncated),
        ("corrupt-crc.png", .corrupt),
        ("huge-declared.png", .tooLarge),
        ("huge-declared.jpg", .tooLarge),
    ]

    @Test("every bad fixture yields its specific error", arguments: badCases)
    func badFixtureYieldsItsError(name: String, code: DecodeError.Code) throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/bad/" + name))
        do {
            _ = try ImageDecoder.decode(bytes)
            Issue.record("\(name) decoded; expected \(code)")
        } catch {
            #expect(error.code == code, "\(name): \(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func corruptJPEGWarnsAndStrictModeRefusesIt() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/bad/corrupt-middle.jpg"))
        var image = Image()
        let warnings = try ImageDecoder.decode(bytes, into: &image)
        #expect(warnings.count > 0, "libjpeg's recovered-from warnings are counted")
        #expect(warnings.message.contains("Corrupt JPEG data"), "\(warnings.message)")
        #expect(throws: DecodeError.self) { _ = try ImageDecoder.decode(bytes, options: DecodeOptions(strict: true)) }
        do {
            _ = try ImageDecoder.decode(bytes, options: DecodeOptions(strict: true))
        } catch {
            #expect(error.code == .warning)
        }
    }

    @Test func formatIsSniffedFromBytesNotExtension() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/bad/wrong-extension.jpg"))
        #expect(ImageDecoder.sniff(bytes) == .png)
        let image = try ImageDecoder.decode(bytes)
        #expect(image.width == 64 && image.height == 48)
    }

    @Test func pixelLimitIsCheckedBeforeDecoding() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/codecs/png-rgb-8.png"))
        let header = try ImageDecoder.header(bytes)
        let limit = header.width * header.height - 1
        do {
            _ = try ImageDecoder.decode(bytes, options: DecodeOptions(maxPixels: limit))
            Issue.record("decoded past the pixel limit")
        } catch {
            #expect(error.code == .tooLarge)
            #expect(error.message.contains("\(limit)"), "the message states the limit: \(error.message)")
        }
        _ = try ImageDecoder.decode(bytes, options: DecodeOptions(maxPixels: limit + 1))
    }

    static let roiFiles = [
        "codecs/jpeg-420-baseline.jpg", "codecs/jpeg-422-baseline.jpg", "codecs/jpeg-444-baseline.jpg",
        "codecs/jpeg-440-baseline.jpg", "codecs/jpeg-411-baseline.jpg", "codecs/jpeg-420-progressive.jpg",
        "codecs/jpeg-gray-baseline.jpg", "codecs/jpeg-cmyk-adobe.jpg", "codecs/jpeg-420-17x13.jpg",
        "codecs/jpeg-420-restart-1mcu.jpg", "codecs/png-rgb-8.png", "codecs/png-rgb-8-interlaced.png",
        "codecs/png-palette-4.png",
    ]

    @Test("a region decode equals a full decode at the same scale, then cropped", arguments: roiFiles)
    func regionDecodeIsBitIdentical(name: String) throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/" + name))
        var random = SampleRandom(seed: 7, epoch: 0, sample: name.count)
        for scale in [1, 2, 4, 8] {
            var full = Image()
            try ImageDecoder.decode(bytes, into: &full, scale: scale)
            // 12 regions of any size, then 9 narrow ones (≤ 24 px, where the crop margins matter
            // most) against the left edge, the right edge and anywhere.
            for k in 0..<21 {
                let narrow = k >= 12
                let w = 1 + random.nextInt(below: narrow ? min(24, full.width) : full.width)
                let h = 1 + random.nextInt(below: full.height)
                let anywhere = random.nextInt(below: full.width - w + 1)
                let x = !narrow ? anywhere : [0, full.width - w, anywhere][k % 3]
                let rect = PixelRect(x: x, y: random.nextInt(below: full.height - h + 1), width: w, height: h)
                var region = Image()
                try ImageDecoder.decode(bytes, into: &region, scale: scale, region: rect)
                #expect(region.width == w && region.height == h)
                #expect(region == crop(full, rect), "\(name) scale 1/\(scale) region \(rect)")
            }
        }
    }

    @Test func dctScalingRoundsSizesUp() throws {
        let bytes = try #require(TestPaths.read(TestPaths.fixtures + "/codecs/jpeg-420-17x13.jpg"))
        for (scale, w, h) in [(1, 17, 13), (2, 9, 7), (4, 5, 4), (8, 3, 2)] {
            var image = Image()
            try ImageDecoder.decode(bytes, into: &image, scale: scale)
            #expect(image.width == w && image.height == h, "scale 1/\(scale)")
        }
    }

    @Test func pngWriterRoundTrips() throws {
        var random = SampleRandom(seed: 1, epoch: 0, sample: 0)
        var image = Image(width: 31, height: 17)
        for i in image.pixels.indices { image.pixels[i] = UInt8(truncatingIfNeeded: random.next()) }
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        try PNGWriter.write(image, to: dir + "/x.png")
        let back = try ImageDecoder.decode(try #require(TestPaths.read(dir + "/x.png")))
        #expect(back == image)
    }
}

func crop(_ image: Image, _ r: PixelRect) -> Image {
    var out = Image(width: r.width, height: r.height)
    for y in 0..<r.height {
        for x in 0..<(r.width * 3) {
            out.pixels[y * r.width * 3 + x] = image.pixels[((r.y + y) * image.width + r.x) * 3 + x]
        }
    }
    return out
}
