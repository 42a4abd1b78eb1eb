import TestSupport
import Testing

@testable import Augload

#if canImport(Glibc)
    import Glibc
#endif

/// The formats that cross process boundaries: frames, the worker messages, and the slot header
/// that the Python client reads (pinned word by word).
@Suite struct FrameTests {
    @Test func framesSplitAcrossReadsComeOutWhole() {
        let stream = Frame.encode([1, 2, 3]) + Frame.encode([]) + Frame.encode(Array(repeating: 9, count: 300))
        var inbox: [UInt8] = []
        var frames: [[UInt8]] = []
        for byte in stream {
            inbox.append(byte)
            frames += Frame.drain(&inbox)
        }
        #expect(frames == [[1, 2, 3], [], Array(repeating: 9, count: 300)])
        #expect(inbox.isEmpty)
    }

    @Test func aPartialFrameStaysInTheInbox() {
        var inbox = Array(Frame.encode([5, 6, 7, 8]).prefix(6))
        #expect(Frame.drain(&inbox).isEmpty)
        #expect(inbox.count == 6)
    }
}

@Suite struct MessageTests {
    static func roundTrip(_ m: Message) throws -> Message {
        var inbox = m.encoded()
        let frames = Frame.drain(&inbox)
        #expect(frames.count == 1)
        return try Message(decoding: frames[0])
    }

    @Test func everyMessageSurvivesARoundTrip() throws {
        guard case .task(let e, let i, let s, let o) = try Self.roundTrip(.task(epoch: 3, index: 9, slot: 2, order: [1, 2]))
        else {
            Issue.record("not a task")
            return
        }
        #expect([e, i, s] == [3, 9, 2] && o == [1, 2])
        let skipped = [SkippedFile(path: "a.jpg", error: "truncated"), SkippedFile(path: "b.jpg", error: "w", kind: .warning)]
        guard case .done(_, _, _, let back) = try Self.roundTrip(.done(epoch: 0, index: 1, slot: 0, skipped: skipped)) else {
            Issue.record("not done")
            return
        }
        #expect(back.map(\.path) == ["a.jpg", "b.jpg"] && back.map(\.kind) == [.skipped, .warning])
        let error = LoaderError(.badFile, "x.png: truncated", path: "x.png", decodeCode: .truncated)
        guard case .failed(_, _, _, let e2) = try Self.roundTrip(.failed(epoch: 1, index: 2, slot: 3, error: error)) else {
            Issue.record("not failed")
            return
        }
        #expect(e2.code == .badFile && e2.path == "x.png" && e2.decodeCode == .truncated, "the decoder's code crosses too")
        guard
            case .configure(let name, _, let requirement, let count) = try Self.roundTrip(
                .configure(
                    typeName: "T", configuration: [0], requirement: SlotRequirement(imageBytes: 10, labels: 2, labelColumns: 7),
                    slotCount: 4))
        else {
            Issue.record("not configure")
            return
        }
        #expect(name == "T" && requirement == SlotRequirement(imageBytes: 10, labels: 2, labelColumns: 7) && count == 4)
    }

    @Test func anUnknownMessageTypeIsAnErrorNotATrap() {
        #expect(throws: LoaderError.self) { try Message(decoding: [99]) }
    }
}

@Suite struct WireReaderTests {
    @Test func truncatedInputThrows() {
        var w = WireWriter()
        w.string("hello")
        var r = WireReader(Array(w.bytes.dropLast()))
        #expect(throws: LoaderError.self) { try r.string() }
        var short = WireReader([1, 2, 3])
        #expect(throws: LoaderError.self) { try short.int() }
    }

    @Test func aNegativeLengthThrows() {
        var w = WireWriter()
        w.int(-5)
        var r = WireReader(w.bytes + [1, 2, 3])
        #expect(throws: LoaderError.self) { try r.blob() }
    }
}

@Suite struct SlotLayoutTests {
    /// The header the Python client reads, word by word (Serve/PROTOCOL.md).
    @Test func theHeaderIsVersion3AsDocumented() throws {
        let layout = SlotLayout(SlotRequirement(imageBytes: 2 * 3 * 4 * 5 * 4, labels: 2))
        let base = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        defer { base.deallocate() }
        var writer = layout.writer(at: base)
        try writer.finish(shape: [2, 3, 4, 5], dtype: .float32, labelCount: 2)
        layout.writeHeader(at: base, epoch: 7, index: 11, writer: writer)
        let words = (0..<24).map { base.load(fromByteOffset: $0 * 8, as: Int64.self).littleEndian }
        #expect(words[0] == 0x4155_474C_4F41_4433)
        #expect(Array(words[1...5]) == [3, 7, 11, 2, 4])
        #expect(Array(words[6...11]) == [2, 3, 4, 5, 0, 0])
        #expect(Array(words[12...15]) == [2, 3, Int64(layout.imagesOffset), 192])
        #expect(Array(words[16...23]) == [1, 2, 0, 0, 0, 0, 0, 0])
        #expect(layout.imagesOffset % 64 == 0 && layout.slotSize % 4096 == 0)
        let header = try layout.readHeader(at: base, epoch: 7, index: 11)
        #expect(header.shape == [2, 3, 4, 5] && header.dtype == .float32 && header.labels == 2 && header.labelColumns == 0)
        layout.clearHeader(at: base)
        #expect(throws: LoaderError.self) { try layout.readHeader(at: base, epoch: 7, index: 11) }
    }

    /// Soft targets: float32 rows of `classes`, their dtype and shape in the header.
    @Test func softTargetsSayTheirDTypeAndShape() throws {
        let layout = SlotLayout(SlotRequirement(imageBytes: 64, labels: 4, labelColumns: 10))
        #expect(layout.imagesOffset >= 192 + 4 * 10 * 4)
        let base = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        defer { base.deallocate() }
        var writer = layout.writer(at: base)
        #expect(writer.softLabels.count == 40)
        try writer.finish(shape: [3, 1, 1, 3], dtype: .float32, labelCount: 3, labelColumns: 10)
        layout.writeHeader(at: base, epoch: 0, index: 0, writer: writer)
        let words = (0..<24).map { base.load(fromByteOffset: $0 * 8, as: Int64.self).littleEndian }
        #expect(Array(words[12...13]) == [30, 2] && Array(words[16...18]) == [2, 3, 10])
        let header = try layout.readHeader(at: base, epoch: 0, index: 0)
        #expect(header.labels == 3 && header.labelColumns == 10)
        #expect(throws: LoaderError.self) {
            try writer.finish(shape: [3, 1, 1, 3], dtype: .float32, labelCount: 3, labelColumns: 9)
        }
    }

    /// `Fixtures/protocol/slot-v3-uint8.bin` and `slot-v3-soft.bin` are slots this build writes:
    /// batch 4 of epoch 3, two 2×3 RGB images in NHWC whose values count up from 0; labels 5 and
    /// 7, or the soft rows `[0.25, 0.75, 0]` and `[1, 0, 0]` (float32 images). The Python tests
    /// read the same files with the client's parser (`Tests/Python/test_slot_format.py`), so the
    /// two sides cannot drift apart. `AUGLOAD_UPDATE_GOLDEN=1` rewrites them.
    @Test(arguments: ["uint8", "soft"])
    func theGoldenSlotFilesAreWhatThisBuildWrites(kind: String) throws {
        let soft = kind == "soft"
        let layout = SlotLayout(
            SlotRequirement(imageBytes: 2 * 2 * 3 * 3 * (soft ? 4 : 1), labels: 2, labelColumns: soft ? 3 : 0))
        let base = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        defer { base.deallocate() }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: layout.slotSize)
        var writer = layout.writer(at: base)
        if soft {
            let floats = writer.images.bindMemory(to: Float.self)
            for i in 0..<36 { floats[i] = Float(i) }
            for (i, v) in [Float(0.25), 0.75, 0, 1, 0, 0].enumerated() { writer.softLabels[i] = v }
            try writer.finish(shape: [2, 2, 3, 3], dtype: .float32, labelCount: 2, labelColumns: 3)
        } else {
            for i in 0..<36 { writer.images[i] = UInt8(i) }
            writer.labels[0] = 5
            writer.labels[1] = 7
            try writer.finish(shape: [2, 2, 3, 3], dtype: .uint8, labelCount: 2)
        }
        layout.writeHeader(at: base, epoch: 3, index: 4, writer: writer)
        let bytes = Array(UnsafeRawBufferPointer(start: base, count: layout.slotSize))
        let path = TestPaths.fixtures + "/protocol/slot-v3-\(kind).bin"
        if getenv("AUGLOAD_UPDATE_GOLDEN") != nil {
            TestPaths.makeDirectory(TestPaths.fixtures + "/protocol")
            TestPaths.write(path, bytes)
        }
        let golden = try #require(TestPaths.read(path), "missing \(path): run with AUGLOAD_UPDATE_GOLDEN=1")
        #expect(golden == bytes, "the slot format changed: update PROTOCOL.md, the Python client and the golden files")
    }
}
