import CAugCodecs

/// Writes RGB8 images as PNG files (libpng, through the C codec target).
public enum PNGWriter {
    /// Writes `image` to `path`.
    /// - Throws: ``DecodeError`` with code `.io` naming the path.
    public static func write(_ image: Image, to path: String) throws(DecodeError) {
        var error = aug_error()
        let status = image.pixels.withUnsafeBufferPointer { buf in
            aug_write_png_rgb8(path, buf.baseAddress!, Int32(image.width), Int32(image.height), image.width * 3, &error)
        }
        if status != 0 { throw DecodeError(status: status, error: &error).at(path) }
    }
}
