import CAugCodecs

/// The file formats augload reads. The format is sniffed from the bytes, never the extension.
public enum ImageFormat: String, Sendable, Codable {
    case jpeg, png
}

/// What a file declares about itself, read without decoding pixels.
public struct ImageHeader: Sendable, Equatable {
    /// The format sniffed from the file's bytes.
    public var format: ImageFormat
    /// Declared width in pixels.
    public var width: Int
    /// Declared height in pixels.
    public var height: Int
    /// Components stored in the file: 1 grey, 2 grey+alpha, 3 colour, 4 CMYK or RGBA.
    public var components: Int
}

/// Settings for decoding; validated value type.
public struct DecodeOptions: Sendable, Hashable, Codable {
    /// Refuse images whose declared width × height exceeds this, before allocating pixels.
    public var maxPixels: Int = 90_000_000
    /// Treat every libjpeg warning (corrupt data the library recovered from) as an error.
    public var strict: Bool = false

    /// Creates options; `maxPixels` must be positive (default 90 million).
    public init(maxPixels: Int = 90_000_000, strict: Bool = false) {
        precondition(maxPixels > 0, "maxPixels must be positive, got \(maxPixels)")
        self.maxPixels = maxPixels
        self.strict = strict
    }
}

/// Corrupt data libjpeg recovered from while decoding (it patches the damage and warns). In
/// ``DecodeOptions/strict`` mode these are errors instead.
public struct DecodeWarnings: Sendable, Equatable {
    /// How many warnings; 0 for a clean file.
    public var count = 0
    /// The first warning's text.
    public var message = ""
    /// Creates a warning summary (default: no warnings).
    public init(count: Int = 0, message: String = "") {
        self.count = count
        self.message = message
    }
}

/// A rectangle in pixel coordinates.
public struct PixelRect: Sendable, Hashable {
    /// The rectangle's top-left corner and size, in pixels.
    public var x: Int, y: Int, width: Int, height: Int
    /// Creates the rectangle at (`x`, `y`) of `width × height` pixels.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// Decodes PNG and JPEG to RGB8 through the C codec target.
///
/// Output matches Pillow's `Image.open(p).convert('RGB')`: grey replicated, alpha dropped without
/// compositing, 16-bit samples keep their high byte, palettes expanded, CMYK/YCCK converted with
/// Pillow's arithmetic; no gamma, ICC or EXIF rotation.
///
///     var image = Image()
///     let warnings = try ImageDecoder.decode(bytes, into: &image)   // .count, .message
public enum ImageDecoder {
    /// Sniffs the format from the first bytes.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        let f = bytes.withUnsafeBufferPointer { aug_sniff($0.baseAddress, $0.count) }
        switch f {
        case AUG_FORMAT_JPEG: return .jpeg
        case AUG_FORMAT_PNG: return .png
        default: return nil
        }
    }

    /// Reads the header, enforcing the pixel limit.
    public static func header(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(DecodeError) -> ImageHeader {
        var c = cOptions(options, scale: 1, roi: nil)
        var header = aug_header()
        var error = aug_error()
        let status = bytes.withUnsafeBufferPointer { buf in
            aug_read_header(buf.baseAddress ?? emptyByte, buf.count, &c, &header, &error)
        }
        if status != 0 { throw DecodeError(status: status, error: &error) }
        return ImageHeader(
            format: header.format == AUG_FORMAT_PNG.rawValue ? .png : .jpeg,
            width: Int(header.width), height: Int(header.height), components: Int(header.components))
    }

    /// Decodes `bytes` into `image`, reusing its storage.
    ///
    /// - Parameters:
    ///   - scale: JPEG DCT scaling denominator (1, 2, 4 or 8); the image comes out about 1/scale
    ///     the size (`ceil(side/scale)`). PNG ignores it.
    ///   - region: only this region of the (scaled) image, bit-identical to decoding everything and
    ///     cropping.
    ///   - header: the file's header when the caller already read it (saves parsing it again).
    /// - Returns: the libjpeg warnings recovered from (count 0 for clean files).
    /// - Throws: ``DecodeError`` with the reason; the path is attached by the caller.
    @discardableResult
    public static func decode(
        _ bytes: [UInt8], into image: inout Image, options: DecodeOptions = .init(), scale: Int = 1,
        region: PixelRect? = nil, header: ImageHeader? = nil
    ) throws(DecodeError) -> DecodeWarnings {
        var c = cOptions(options, scale: scale, roi: region)
        var error = aug_error()
        var w: Int32 = 0
        var h: Int32 = 0
        var status: Int32 = 0
        if let region {
            (w, h) = (Int32(region.width), Int32(region.height))
        } else if let header {
            let d = header.format == .jpeg ? max(scale, 1) : 1
            (w, h) = (Int32((header.width + d - 1) / d), Int32((header.height + d - 1) / d))
        } else {
            status = bytes.withUnsafeBufferPointer { buf in
                aug_output_size(buf.baseAddress ?? emptyByte, buf.count, &c, &w, &h, &error)
            }
            if status != 0 { throw DecodeError(status: status, error: &error) }
        }
        image.reshape(width: Int(w), height: Int(h))
        status = bytes.withUnsafeBufferPointer { buf in
            image.pixels.withUnsafeMutableBufferPointer { out in
                aug_decode_rgb8(
                    buf.baseAddress ?? emptyByte, buf.count, &c, out.baseAddress ?? mutableScratch, out.count, &w, &h, &error)
            }
        }
        if status != 0 { throw DecodeError(status: status, error: &error) }
        if Int(w) != image.width || Int(h) != image.height {
            throw DecodeError(.argument, message: "decoder produced \(w)x\(h), expected \(image.width)x\(image.height)")
        }
        if error.warnings == 0 { return DecodeWarnings() }
        let message = withUnsafeBytes(of: &error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return DecodeWarnings(count: Int(error.warnings), message: message)
    }

    /// Decodes `bytes` into a new image.
    public static func decode(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(DecodeError) -> Image {
        var image = Image()
        try decode(bytes, into: &image, options: options)
        return image
    }

    static func cOptions(_ options: DecodeOptions, scale: Int, roi: PixelRect?) -> aug_decode_options {
        var c = aug_decode_options()
        c.max_pixels = UInt64(options.maxPixels)
        c.strict = options.strict ? 1 : 0
        c.scale_denom = Int32(scale)
        if let roi {
            c.roi_x = Int32(roi.x)
            c.roi_y = Int32(roi.y)
            c.roi_w = Int32(roi.width)
            c.roi_h = Int32(roi.height)
        }
        return c
    }
}

// Zero-length buffers have no base address; the C side only needs a valid pointer.
nonisolated(unsafe) private let emptyByteStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
private var emptyByte: UnsafePointer<UInt8> { UnsafePointer(emptyByteStorage) }
private var mutableScratch: UnsafeMutablePointer<UInt8> { emptyByteStorage }
