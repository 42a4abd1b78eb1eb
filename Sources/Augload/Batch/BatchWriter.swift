/// Where a batch is assembled: the image and label areas of a slot (shared memory, or the
/// in-process ring when `workers: 0`). Writers fill ``images`` in place, then set the shape.
///
/// The label area holds either one int32 class index per image (``labels``) or, when the slot was
/// laid out for soft targets (``labelColumns`` > 0), a float32 row per image (``softLabels``):
/// the two views share the memory, so a writer that turns indices into targets reads the indices
/// out first.
public struct BatchWriter {
    /// The image area; write the tensor here.
    public let images: UnsafeMutableRawBufferPointer
    /// The label area as class indices; write one label per image here.
    public let labels: UnsafeMutableBufferPointer<Int32>
    /// The label area as float32 targets, `rows × labelColumns` (empty without columns).
    public let softLabels: UnsafeMutableBufferPointer<Float>
    /// Classes per soft-target row the slot has room for (0: class indices only).
    public let columnCapacity: Int
    /// Classes per row of what was written: 0 for class indices (set with ``finish(shape:dtype:labelCount:labelColumns:)``).
    public private(set) var labelColumns = 0
    /// The shape of what was written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var shape: [Int] = []
    /// The element type of what was written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var dtype: DType = .uint8
    /// Labels written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var labelCount = 0

    init(images: UnsafeMutableRawBufferPointer, labels: UnsafeMutableRawBufferPointer, rows: Int, columns: Int) {
        self.images = images
        self.labels = labels.bindMemory(to: Int32.self).extracting(0..<rows)
        self.softLabels = UnsafeMutableBufferPointer(
            start: UnsafeMutableRawPointer(labels.baseAddress!).assumingMemoryBound(to: Float.self), count: rows * columns)
        self.columnCapacity = columns
    }

    /// Records what was written: `labelCount` labels, class indices or (with `labelColumns`) float32 rows.
    /// - Throws: ``LoaderError`` when the shape does not fit the slot.
    public mutating func finish(shape: [Int], dtype: DType, labelCount: Int, labelColumns: Int = 0) throws(LoaderError) {
        let bytes = shape.reduce(1, *) * dtype.size
        guard shape.count <= SlotLayout.maxRank, bytes <= images.count, labelCount <= labels.count,
            labelColumns == 0 || labelColumns == columnCapacity
        else {
            throw LoaderError(
                .sequence,
                "a batch of shape \(shape) \(dtype) with \(labelCount) labels does not fit a slot of \(images.count) bytes and \(labels.count) labels; slots are sized from the sequence's first batch (make batches the same size)"
            )
        }
        self.shape = shape
        self.dtype = dtype
        self.labelCount = labelCount
        self.labelColumns = labelColumns
    }

    /// Copies a user-built batch in.
    public mutating func copy(_ batch: Batch) throws(LoaderError) {
        let rows = batch.softLabels == nil ? batch.labels.count : batch.count
        let targets = batch.softLabels?.count ?? 0
        guard batch.images.count <= images.count, rows <= labels.count, targets <= softLabels.count else {
            try finish(shape: batch.shape, dtype: batch.dtype, labelCount: rows, labelColumns: batch.labelColumns)
            return
        }
        if let src = batch.images.baseAddress, batch.images.count > 0 {
            images.baseAddress!.copyMemory(from: src, byteCount: batch.images.count)
        }
        if let soft = batch.softLabels {
            for i in 0..<soft.count { softLabels[i] = soft[i] }
        } else {
            for i in 0..<batch.labels.count { labels[i] = batch.labels[i] }
        }
        try finish(shape: batch.shape, dtype: batch.dtype, labelCount: rows, labelColumns: batch.labelColumns)
    }
}
