/// The layout of one batch slot in shared memory: version 2 of a format another language reads.
///
/// The Python client maps the same memory and reads this header (the full table is in
/// `Serve/PROTOCOL.md`); `SlotLayoutTests` pins the bytes. Sixteen little-endian `Int64` words:
///
/// ```
/// word 0      magic "AUGLOAD2" — written last, cleared first, so a half-written slot never reads as a batch
/// word 1      format version (2)
/// word 2, 3   epoch, index
/// word 4      image dtype code (``DType/slotCode``: 1 uint8, 2 float32)
/// word 5      rank; words 6–11 the shape (unused dimensions 0)
/// word 12     label count; word 13 the label dtype code (3: int32)
/// word 14, 15 byte offsets of the images and the labels from the slot's start
/// 128         labels: Int32 × labelCapacity
/// …           images (64-byte aligned): imageCapacity bytes
/// ```
/// Slots are page-aligned so each can be mapped, touched and reused independently.
public struct SlotLayout: Sendable, Hashable {
    static let maxRank = 6
    /// "AUGLOAD2" read as a big-endian number.
    public static let magic: Int64 = 0x4155_474C_4F41_4432
    /// The header format written by this build.
    public static let version: Int64 = 2
    /// The label element type's code in word 13 (int32).
    public static let labelDTypeCode: Int64 = 3
    static let headerBytes = 128

    /// Word indices of the header.
    enum Word {
        static let magic = 0, version = 1, epoch = 2, index = 3, dtype = 4, rank = 5, shape = 6
        static let labelCount = 12, labelDType = 13, imagesOffset = 14, labelsOffset = 15
    }

    /// Bytes reserved for images (at least 1).
    public let imageCapacity: Int
    /// Labels the slot holds (at least 1).
    public let labelCapacity: Int
    /// Byte offset of the image area from the slot's start (64-byte aligned, after the 128-byte header and the labels).
    public let imagesOffset: Int
    /// Bytes per slot (a multiple of the page size).
    public let slotSize: Int

    /// Lays out a slot big enough for `requirement`.
    public init(_ requirement: SlotRequirement) {
        imageCapacity = max(requirement.imageBytes, 1)
        labelCapacity = max(requirement.labels, 1)
        imagesOffset = (SlotLayout.headerBytes + labelCapacity * 4 + 63) & ~63
        slotSize = (imagesOffset + imageCapacity + 4095) & ~4095
    }

    /// A writer over the slot at `base`.
    func writer(at base: UnsafeMutableRawPointer) -> BatchWriter {
        BatchWriter(
            images: UnsafeMutableRawBufferPointer(start: base + imagesOffset, count: imageCapacity),
            labels: UnsafeMutableBufferPointer(
                start: (base + SlotLayout.headerBytes).assumingMemoryBound(to: Int32.self), count: labelCapacity))
    }

    /// Stores what `writer` recorded into the header (the worker, after filling); the magic last.
    func writeHeader(at base: UnsafeMutableRawPointer, epoch: Int, index: Int, writer: BatchWriter) {
        let h = base.assumingMemoryBound(to: Int64.self)
        h[Word.version] = SlotLayout.version
        h[Word.epoch] = Int64(epoch)
        h[Word.index] = Int64(index)
        h[Word.dtype] = writer.dtype.slotCode
        h[Word.rank] = Int64(writer.shape.count)
        for i in 0..<SlotLayout.maxRank { h[Word.shape + i] = i < writer.shape.count ? Int64(writer.shape[i]) : 0 }
        h[Word.labelCount] = Int64(writer.labelCount)
        h[Word.labelDType] = SlotLayout.labelDTypeCode
        h[Word.imagesOffset] = Int64(imagesOffset)
        h[Word.labelsOffset] = Int64(SlotLayout.headerBytes)
        h[Word.magic] = SlotLayout.magic
    }

    /// Reads the header (the consumer), checking it belongs to the expected batch.
    func readHeader(at base: UnsafeMutableRawPointer, epoch: Int, index: Int) throws(LoaderError) -> (
        shape: [Int], dtype: DType, labels: Int
    ) {
        let h = base.assumingMemoryBound(to: Int64.self)
        guard h[Word.magic] == SlotLayout.magic, h[Word.version] == SlotLayout.version, h[Word.epoch] == Int64(epoch),
            h[Word.index] == Int64(index), let dtype = DType(slotCode: h[Word.dtype]),
            (0...Int64(SlotLayout.maxRank)).contains(h[Word.rank])
        else {
            throw LoaderError(.system, "slot header mismatch for batch \(index) of epoch \(epoch)")
        }
        let shape = (0..<Int(h[Word.rank])).map { Int(h[Word.shape + $0]) }
        return (shape, dtype, Int(h[Word.labelCount]))
    }

    /// Marks the slot empty (so a stale header is never mistaken for a fresh batch).
    func clearHeader(at base: UnsafeMutableRawPointer) {
        base.assumingMemoryBound(to: Int64.self)[Word.magic] = 0
    }
}

extension DType {
    /// The element type's code in a slot header (word 4): 1 uint8, 2 float32.
    public var slotCode: Int64 {
        switch self {
        case .uint8: 1
        case .float32: 2
        }
    }

    /// The element type a slot header's code names, or nil for an unknown code.
    public init?(slotCode: Int64) {
        switch slotCode {
        case 1: self = .uint8
        case 2: self = .float32
        default: return nil
        }
    }
}
