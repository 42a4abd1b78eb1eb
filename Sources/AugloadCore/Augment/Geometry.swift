/// The geometric part of an augmentation pipeline, planned before any pixel is decoded.
///
/// Why: crops and resizes only move a window over the source and change the output size, so a
/// pipeline such as resize-256 → random-crop-224 → h-flip can be planned first and realised
/// once — decoding only the window's region of the file (and at a DCT scale when it will be
/// shrunk 2× or more) and resampling it straight to the output size. Realising the plan on a fully
/// decoded image gives the same result as applying each step in turn, because every step is a
/// linear map of coordinates.
///
/// The state is "the window `x0..<x1, y0..<y1` of the source (in source pixels), resampled to
/// `width × height`, then mirrored if `flipH`/`flipV`".
public struct Geometry: Sendable, Equatable {
    /// The source image size.
    public let sourceWidth: Int
    /// The source image height in pixels.
    public let sourceHeight: Int
    /// The window over the source, in source pixel coordinates (may be fractional).
    public var x0: Double, y0: Double, x1: Double, y1: Double
    /// The current (virtual) image size.
    public var width: Int, height: Int
    /// Pending mirror operations, applied after resampling.
    public var flipH = false, flipV = false

    /// The identity plan over a source of the given size.
    public init(sourceWidth: Int, sourceHeight: Int) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        x0 = 0
        y0 = 0
        x1 = Double(sourceWidth)
        y1 = Double(sourceHeight)
        width = sourceWidth
        height = sourceHeight
    }

    /// Resamples the current image to `width × height`.
    public mutating func resize(width newWidth: Int, height newHeight: Int) {
        precondition(newWidth > 0 && newHeight > 0, "resize target must be positive, got \(newWidth)x\(newHeight)")
        width = newWidth
        height = newHeight
    }

    /// Crops the current image to the rectangle at (x, y) of size w × h (current coordinates).
    /// A mirrored axis maps the rectangle back onto the source from the other side.
    public mutating func crop(x: Int, y: Int, width w: Int, height h: Int) {
        precondition(w > 0 && h > 0, "crop size must be positive, got \(w)x\(h)")
        let sx = (x1 - x0) / Double(width)
        let sy = (y1 - y0) / Double(height)
        let left = flipH ? Double(width - x - w) : Double(x)
        let top = flipV ? Double(height - y - h) : Double(y)
        let nx0 = x0 + left * sx
        let ny0 = y0 + top * sy
        x0 = nx0
        y0 = ny0
        x1 = nx0 + Double(w) * sx
        y1 = ny0 + Double(h) * sy
        width = w
        height = h
    }

    /// True when the plan is a pure crop: an integer window resampled at its own size.
    public var isPureCrop: Bool {
        x0 == x0.rounded() && y0 == y0.rounded() && x1 - x0 == Double(width) && y1 - y0 == Double(height)
            && x0 >= 0 && y0 >= 0 && x1 <= Double(sourceWidth) && y1 <= Double(sourceHeight)
    }

    /// True when the plan changes nothing (the cache's prefix check uses it).
    public var isIdentity: Bool {
        isPureCrop && width == sourceWidth && height == sourceHeight && !flipH && !flipV
    }
}
