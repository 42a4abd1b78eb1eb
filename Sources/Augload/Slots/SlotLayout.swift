/// The layout of one batch slot in shared memory: version 3 of a format another language reads.
///
/// The Python client maps the same memory and reads this header (the full table is in
/// `Serve/PROTOCOL.md`); `WireTests` pins the bytes. Twenty-four little-endian `Int64` words:
///
/// ```
/// word 0      magic "AUGLOAD3" — written last, cleared first, so a half-written slot never reads as a batch
/// word 1      format version (3)
/// word 2, 3   epoch, index
/// word 4      image dtype code (``DType/slotCode``: 1 uint8, 2 float32)
/// word 5      rank; words 6–11 the shape (unused dimensions 0)
/// word 12     label elements; word 13 the label dtype code (3: int32 class indices, 2: float32 targets)
/// word 14, 15 byte offsets of the images and the labels from the slot's start
/// word 16     label rank (1: [n] indices; 2: [n, classes] soft targets); words 17, 18 its shape
/// words 19–23 zero (reserved)
/// 192         labels: labelCapacity × max(1, labelColumns) 4-byte elements
/// …           images (64-byte aligned): imageCapacity bytes
/// ```
///
/// Version 3 added the label dtype and shape (MixUp/CutMix and label smoothing make float32
/// targets): a version-2 reader checks word 1 and refuses these slots rather than misread them.
/// Slots are page-aligned so each can be mapped, touched and reused independently.
public struct SlotLayout: Sendable, Hashable {
    static let maxRank = 6
    /// "AUGLOAD3" read as a big-endian number.
    public static let magic: Int64 = 0x4155_474C_4F41_4433
    /// The header format written by this build.
    public static let version: Int64 = 3
    /// The label element type's code in word 13 for class indices (int32); soft targets use
    /// float32's image code, 2.
    public static let labelDTypeCode: Int64 = 3
    static let headerBytes = 192

    /// Word indices of the header.
    enum Word {
        static let magic = 0, version = 1, epoch = 2, index = 3, dtype = 4, rank = 5, shape = 6
        static let labelCount = 12, labelDType = 13, imagesOffset = 14, labelsOffset = 15
        static let labelRank = 16, labelShape = 17, reserved = 19, count = 24
    }

    /// Bytes reserved for images (at least 1).
    public let imageCapacity: Int
    /// Label rows (one per image) the slot holds (at least 1).
    public let labelCapacity: Int
    /// Columns of a soft-target row (the classes), or 0 for int32 class indices.
    public let labelColumns: Int
    /// Byte offset of the image area from the slot's start (64-byte aligned, after the 128-byte header and the labels).
    public let imagesOffset: Int
    /// Bytes per slot (a multiple of the page size).
    public let slotSize: Int

    /// Lays out a slot big enough for `requirement`.
    public init(_ requirement: SlotRequirement) {
        imageCapacity = max(requirement.imageBytes, 1)
        labelCapacity = max(requirement.labels, 1)
        labelColumns = max(requirement.labelColumns, 0)
        imagesOffset = (SlotLayout.headerBytes + labelCapacity * max(labelColumns, 1) * 4 + 63) & ~63
        slotSize = (imagesOffset + imageCapacity + 4095) & ~4095
    }

    /// A writer over the slot at `base`.
    func writer(at base: UnsafeMutableRawPointer) -> BatchWriter {
        BatchWriter(
            images: UnsafeMutableRawBufferPointer(start: base + imagesOffset, count: imageCapacity),
            labels: UnsafeMutableRawBufferPointer(
                start: base + SlotLayout.headerBytes, count: labelCapacity * max(labelColumns, 1) * 4),
            rows: labelCapacity, columns: labelColumns)
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
        let soft = writer.labelColumns > 0
        h[Word.labelCount] = Int64(writer.labelCount * max(writer.labelColumns, 1))
        h[Word.labelDType] = soft ? DType.float32.slotCode : SlotLayout.labelDTypeCode
        h[Word.imagesOffset] = Int64(imagesOffset)
        h[Word.labelsOffset] = Int64(SlotLayout.headerBytes)
        h[Word.labelRank] = soft ? 2 : 1
        h[Word.labelShape] = Int64(writer.labelCount)
        h[Word.labelShape + 1] = soft ? Int64(writer.labelColumns) : 0
        for w in Word.reserved..<Word.count { h[w] = 0 }
        h[Word.magic] = SlotLayout.magic
    }

    /// Reads the header (the consumer), checking it belongs to the expected batch.
    func readHeader(at base: UnsafeMutableRawPointer, epoch: Int, index: Int) throws(LoaderError) -> (
        shape: [Int], dtype: DType, labels: Int, labelColumns: Int
    ) {
        let h = base.assumingMemoryBound(to: Int64.self)
        guard h[Word.magic] == SlotLayout.magic, h[Word.version] == SlotLayout.version, h[Word.epoch] == Int64(epoch),
            h[Word.index] == Int64(index), let dtype = DType(slotCode: h[Word.dtype]),
            (0...Int64(SlotLayout.maxRank)).contains(h[Word.rank]), (1...2).contains(h[Word.labelRank])
        else {
            throw LoaderError(.system, "slot header mismatch for batch \(index) of epoch \(epoch)")
        }
        let shape = (0..<Int(h[Word.rank])).map { Int(h[Word.shape + $0]) }
        return (shape, dtype, Int(h[Word.labelShape]), h[Word.labelRank] == 2 ? Int(h[Word.labelShape + 1]) : 0)
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
