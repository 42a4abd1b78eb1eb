/// One batch: images as one contiguous tensor, and one Int32 label per image — or, when the batch
/// was mixed (MixUp, CutMix) or its labels smoothed, a row of float32 targets per image
/// (``softLabels``, `count × labelColumns`).
///
/// A batch the loader hands out *borrows* its shared-memory slot: `images` points straight at
/// what a worker wrote, nothing is copied, and the slot goes back to the loader when the batch is
/// released (when the last reference to it goes away, or on ``release()``). Don't keep the
/// pointers beyond the batch's lifetime; copy what you need to keep.
///
///     for batch in loader {
///         let pixels = batch.floats        // [N, 224, 224, 3] float32, in place
///         train(pixels, batch.labels)
///     }                                    // each slot is recycled as `batch` goes out of scope
public final class Batch: @unchecked Sendable {
    /// The epoch this batch belongs to.
    public let epoch: Int
    /// The batch's index within its epoch.
    public let index: Int
    /// The images' shape, e.g. `[64, 224, 224, 3]` (NHWC) or `[64, 3, 224, 224]` (NCHW).
    public let shape: [Int]
    /// The images' element type.
    public let dtype: DType
    /// The image tensor's bytes.
    public let images: UnsafeRawBufferPointer
    /// One class index per image; empty when the batch has ``softLabels`` instead.
    public let labels: UnsafeBufferPointer<Int32>
    /// Float32 targets, `count × labelColumns` row-major (each row sums to 1), when the batch was
    /// mixed or its labels smoothed; nil for class indices.
    public let softLabels: UnsafeBufferPointer<Float>?
    /// Classes per row of ``softLabels``; 0 for class indices.
    public let labelColumns: Int

    /// The loader slot the batch borrows (nil for a batch that owns its memory): the serve
    /// session names it to its client.
    let slot: Int?

    private var releaseAction: (@Sendable () -> Void)?
    private let lock = Mutex()

    /// Number of images.
    public var count: Int { shape.first ?? 0 }

    /// The images as float32 values (the batch's dtype must be `.float32`).
    public var floats: UnsafeBufferPointer<Float> {
        precondition(dtype == .float32, "batch dtype is \(dtype), not float32")
        return images.bindMemory(to: Float.self)
    }

    /// The images as bytes (the batch's dtype must be `.uint8`).
    public var bytes: UnsafeBufferPointer<UInt8> {
        precondition(dtype == .uint8, "batch dtype is \(dtype), not uint8")
        return images.bindMemory(to: UInt8.self)
    }

    /// A batch over memory someone else owns; `release` runs once when the batch is released.
    init(
        epoch: Int, index: Int, shape: [Int], dtype: DType, images: UnsafeRawBufferPointer,
        labels: UnsafeBufferPointer<Int32>, softLabels: UnsafeBufferPointer<Float>? = nil, labelColumns: Int = 0,
        slot: Int? = nil, release: (@Sendable () -> Void)?
    ) {
        self.slot = slot
        self.softLabels = softLabels
        self.labelColumns = softLabels == nil ? 0 : labelColumns
        self.epoch = epoch
        self.index = index
        self.shape = shape
        self.dtype = dtype
        self.images = images
        self.labels = labels
        self.releaseAction = release
    }

    /// A batch that owns a copy of `images` (float32) — for `DataSequence` implementations.
    public convenience init(floats: [Float], shape: [Int], labels: [Int32], epoch: Int = 0, index: Int = 0) {
        self.init(
            raw: floats.withUnsafeBytes { Array($0) }, shape: shape, dtype: .float32, labels: labels, epoch: epoch, index: index)
    }

    /// A batch that owns a copy of `images` (uint8) — for `DataSequence` implementations.
    public convenience init(bytes: [UInt8], shape: [Int], labels: [Int32], epoch: Int = 0, index: Int = 0) {
        self.init(raw: bytes, shape: shape, dtype: .uint8, labels: labels, epoch: epoch, index: index)
    }

    private convenience init(raw: [UInt8], shape: [Int], dtype: DType, labels: [Int32], epoch: Int, index: Int) {
        precondition(shape.reduce(1, *) * dtype.size == raw.count, "shape \(shape) does not match \(raw.count) bytes of \(dtype)")
        precondition(shape.first == labels.count, "\(labels.count) labels for \(shape.first ?? 0) images")
        let imageMemory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(raw.count, 1), alignment: 64)
        raw.withUnsafeBytes { imageMemory.copyMemory(from: $0) }
        let labelMemory = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(labels.count, 1))
        _ = labelMemory.initialize(from: labels)
        let owned = OwnedMemory(images: imageMemory, labels: labelMemory)
        self.init(
            epoch: epoch, index: index, shape: shape, dtype: dtype,
            images: UnsafeRawBufferPointer(rebasing: imageMemory[0..<raw.count]),
            labels: UnsafeBufferPointer(rebasing: labelMemory[0..<labels.count]),
            release: { owned.free() })
    }

    /// Gives the memory back now (a borrowed slot returns to the loader). Using the batch's
    /// pointers afterwards is an error. Releasing twice is harmless.
    public func release() {
        let action = lock.withLock { () -> (@Sendable () -> Void)? in
            defer { releaseAction = nil }
            return releaseAction
        }
        action?()
    }

    deinit { releaseAction?() }
}

/// Memory a user-built batch owns.
private final class OwnedMemory: @unchecked Sendable {
    let images: UnsafeMutableRawBufferPointer
    let labels: UnsafeMutableBufferPointer<Int32>
    init(images: UnsafeMutableRawBufferPointer, labels: UnsafeMutableBufferPointer<Int32>) {
        self.images = images
        self.labels = labels
    }
    func free() {
        images.deallocate()
        labels.deallocate()
    }
}
