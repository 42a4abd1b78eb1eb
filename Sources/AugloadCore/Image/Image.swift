/// An 8-bit RGB image: the currency between the decoder and the augmentations.
///
/// Pixels are packed row-major, three bytes per pixel, no padding. The storage is an array, so an
/// `Image` kept in a worker and reused from sample to sample keeps its capacity: decoding the next
/// file into it allocates nothing unless that file is larger than every one before it.
///
///     var image = Image()
///     try decoder.decode(bytes, into: &image)
///     print(image.width, image.height, image[x: 0, y: 0])
public struct Image: Sendable, Equatable {
    /// Width in pixels.
    public private(set) var width: Int
    /// Height in pixels.
    public private(set) var height: Int
    /// Packed RGB8 pixels, `width * height * 3` bytes.
    public var pixels: [UInt8]

    /// Channels per pixel; always 3 (RGB).
    public var channels: Int { 3 }

    /// An empty image (0×0) whose storage can be reused.
    public init() {
        width = 0
        height = 0
        pixels = []
    }

    /// An image of the given size filled with `value`.
    public init(width: Int, height: Int, fill value: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "image size must not be negative")
        self.width = width
        self.height = height
        pixels = Array(repeating: value, count: width * height * 3)
    }

    /// An image over existing packed RGB8 pixels.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "pixel count must be width*height*3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Resizes the storage for a new geometry, keeping capacity; pixel contents are unspecified.
    public mutating func reshape(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "image size must not be negative")
        self.width = width
        self.height = height
        pixels.resizeUninitialized(to: width * height * 3)
    }

    /// The RGB triple at (x, y).
    public subscript(x x: Int, y y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

extension Array where Element == UInt8 {
    /// Sets `count`, keeping capacity when shrinking; new bytes are zero. Growing beyond the
    /// capacity reallocates once (no per-element work, which matters in unoptimised builds).
    @inlinable
    public mutating func resizeUninitialized(to newCount: Int) {
        if newCount <= count {
            if newCount < count { removeLast(count - newCount) }
            return
        }
        if newCount > capacity {
            let old = self
            self = [UInt8](unsafeUninitializedCapacity: newCount) { buffer, initialized in
                old.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress { buffer.baseAddress!.update(from: base, count: src.count) }
                }
                (buffer.baseAddress! + old.count).update(repeating: 0, count: newCount - old.count)
                initialized = newCount
            }
        } else {
            append(contentsOf: repeatElement(0, count: newCount - count))
        }
    }
}
