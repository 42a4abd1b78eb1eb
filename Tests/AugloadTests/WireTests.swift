@testable import Augload
import TestSupport
import Testing

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
        guard case .task(let e, let i, let s, let o) = try Self.roundTrip(.task(epoch: 3, index: 9, slot: 2, order: [1, 2])) else {
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
        guard case .configure(let name, _, let bytes, let labels, let count) = try Self.roundTrip(
            .configure(typeName: "T", configuration: [0], imageBytes: 10, labels: 2, slotCount: 4))
        else {
            Issue.record("not configure")
            return
        }
        #expect(name == "T" && [bytes, labels, count] == [10, 2, 4])
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
    @Test func theHeaderIsVersion2AsDocumented() throws {
        let layout = SlotLayout(SlotRequirement(imageBytes: 2 * 3 * 4 * 5 * 4, labels: 2))
        let base = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        defer { base.deallocate() }
        var writer = layout.writer(at: base)
        try writer.finish(shape: [2, 3, 4, 5], dtype: .float32, labelCount: 2)
        layout.writeHeader(at: base, epoch: 7, index: 11, writer: writer)
        let words = (0..<16).map { base.load(fromByteOffset: $0 * 8, as: Int64.self).littleEndian }
        #expect(words[0] == 0x4155_474C_4F41_4432)
        #expect(Array(words[1...5]) == [2, 7, 11, 2, 4])
        #expect(Array(words[6...11]) == [2, 3, 4, 5, 0, 0])
        #expect(Array(words[12...15]) == [2, 3, Int64(layout.imagesOffset), 128])
        #expect(layout.imagesOffset % 64 == 0 && layout.slotSize % 4096 == 0)
        let header = try layout.readHeader(at: base, epoch: 7, index: 11)
        #expect(header.shape == [2, 3, 4, 5] && header.dtype == .float32 && header.labels == 2)
        layout.clearHeader(at: base)
        #expect(throws: LoaderError.self) { try layout.readHeader(at: base, epoch: 7, index: 11) }
    }

    /// `Fixtures/protocol/slot-v2-uint8.bin` is a slot this build writes: batch 4 of epoch 3, two
    /// 2×3 uint8 RGB images in NHWC whose bytes count up from 0, labels 5 and 7. The Python tests
    /// read the same file with the client's parser (`Tests/Python/test_slot_format.py`), so the two
    /// sides cannot drift apart. `AUGLOAD_UPDATE_GOLDEN=1` rewrites it.
    @Test func theGoldenSlotFileIsWhatThisBuildWrites() throws {
        let layout = SlotLayout(SlotRequirement(imageBytes: 2 * 2 * 3 * 3, labels: 2))
        let base = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        defer { base.deallocate() }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: layout.slotSize)
        var writer = layout.writer(at: base)
        for i in 0..<36 { writer.images[i] = UInt8(i) }
        writer.labels[0] = 5
        writer.labels[1] = 7
        try writer.finish(shape: [2, 2, 3, 3], dtype: .uint8, labelCount: 2)
        layout.writeHeader(at: base, epoch: 3, index: 4, writer: writer)
        let bytes = Array(UnsafeRawBufferPointer(start: base, count: layout.slotSize))
        let path = TestPaths.fixtures + "/protocol/slot-v2-uint8.bin"
        if getenv("AUGLOAD_UPDATE_GOLDEN") != nil {
            TestPaths.makeDirectory(TestPaths.fixtures + "/protocol")
            TestPaths.write(path, bytes)
        }
        let golden = try #require(TestPaths.read(path), "missing \(path): run with AUGLOAD_UPDATE_GOLDEN=1")
        #expect(golden == bytes, "the slot format changed: update PROTOCOL.md, the Python client and the golden file")
    }
}
