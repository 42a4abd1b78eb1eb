/// Where a batch is assembled: the image and label areas of a slot (shared memory, or the
/// in-process ring when `workers: 0`). Writers fill ``images`` in place, then set the shape.
public struct BatchWriter {
    /// The image area; write the tensor here.
    public let images: UnsafeMutableRawBufferPointer
    /// The label area; write one label per image here.
    public let labels: UnsafeMutableBufferPointer<Int32>
    /// The shape of what was written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var shape: [Int] = []
    /// The element type of what was written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var dtype: DType = .uint8
    /// Labels written (set with ``finish(shape:dtype:labelCount:)``).
    public private(set) var labelCount = 0

    init(images: UnsafeMutableRawBufferPointer, labels: UnsafeMutableBufferPointer<Int32>) {
        self.images = images
        self.labels = labels
    }

    /// Records what was written.
    /// - Throws: ``LoaderError`` when the shape does not fit the slot.
    public mutating func finish(shape: [Int], dtype: DType, labelCount: Int) throws(LoaderError) {
        let bytes = shape.reduce(1, *) * dtype.size
        guard shape.count <= SlotLayout.maxRank, bytes <= images.count, labelCount <= labels.count else {
            throw LoaderError(
                .sequence,
                "a batch of shape \(shape) \(dtype) with \(labelCount) labels does not fit a slot of \(images.count) bytes and \(labels.count) labels; slots are sized from the sequence's first batch (make batches the same size)"
            )
        }
        self.shape = shape
        self.dtype = dtype
        self.labelCount = labelCount
    }

    /// Copies a user-built batch in.
    public mutating func copy(_ batch: Batch) throws(LoaderError) {
        guard batch.images.count <= images.count, batch.labels.count <= labels.count else {
            try finish(shape: batch.shape, dtype: batch.dtype, labelCount: batch.labels.count)
            return
        }
        if let src = batch.images.baseAddress, batch.images.count > 0 {
            images.baseAddress!.copyMemory(from: src, byteCount: batch.images.count)
        }
        for i in 0..<batch.labels.count { labels[i] = batch.labels[i] }
        try finish(shape: batch.shape, dtype: batch.dtype, labelCount: batch.labels.count)
    }
}
