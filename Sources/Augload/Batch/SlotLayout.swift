/// The layout of one batch slot in shared memory.
///
/// ```
/// 0    header: Int64 × 16 — magic, epoch, index, dtype, rank, shape[6], labelCount
/// 128  labels: Int32 × labelCapacity
/// …    images (64-byte aligned): imageCapacity bytes
/// ```
/// Slots are page-aligned so each can be mapped, touched and reused independently.
public struct SlotLayout: Sendable, Hashable {
    static let maxRank = 6
    static let magic = 0x4155_474C_4F41_4431  // "AUGLOAD1"
    static let headerBytes = 128

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

    /// Stores what `writer` recorded into the header (the worker, after filling).
    func writeHeader(at base: UnsafeMutableRawPointer, epoch: Int, index: Int, writer: BatchWriter) {
        let h = base.assumingMemoryBound(to: Int64.self)
        h[1] = Int64(epoch)
        h[2] = Int64(index)
        h[3] = writer.dtype == .uint8 ? 0 : 1
        h[4] = Int64(writer.shape.count)
        for i in 0..<SlotLayout.maxRank { h[5 + i] = i < writer.shape.count ? Int64(writer.shape[i]) : 0 }
        h[11] = Int64(writer.labelCount)
        h[0] = Int64(SlotLayout.magic)
    }

    /// Reads the header (the consumer), checking it belongs to the expected batch.
    func readHeader(at base: UnsafeMutableRawPointer, epoch: Int, index: Int) throws(LoaderError) -> (
        shape: [Int], dtype: DType, labels: Int
    ) {
        let h = base.assumingMemoryBound(to: Int64.self)
        guard h[0] == Int64(SlotLayout.magic), h[1] == Int64(epoch), h[2] == Int64(index) else {
            throw LoaderError(.system, "slot header mismatch for batch \(index) of epoch \(epoch)")
        }
        let rank = Int(h[4])
        let shape = (0..<min(rank, SlotLayout.maxRank)).map { Int(h[5 + $0]) }
        return (shape, h[3] == 0 ? .uint8 : .float32, Int(h[11]))
    }

    /// Marks the slot empty (so a stale header is never mistaken for a fresh batch).
    func clearHeader(at base: UnsafeMutableRawPointer) {
        base.assumingMemoryBound(to: Int64.self)[0] = 0
    }
}
