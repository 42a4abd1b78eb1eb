/// Turns a planned ``Geometry`` into pixels, from an encoded file or from an image in memory.
///
/// From a file it decodes only the region the resampler's taps touch, at the largest JPEG DCT
/// scale (1/2, 1/4, 1/8) that still leaves the window at least as large as the output — so a
/// random-resized crop of a tenth of a photo decodes about a tenth of it. At scale 1 the result
/// is bit-identical to decoding the whole file and realising the plan on it.
public enum GeometryRealizer {
    /// Realises `geometry` (without its flips) from encoded bytes into `result`.
    /// - Parameter allowScaledDecode: permit JPEG DCT-domain downscaling when the window shrinks ≥ 2×.
    public static func realize(
        _ geometry: Geometry, bytes: [UInt8], header: ImageHeader, options: DecodeOptions, allowScaledDecode: Bool,
        decoded: inout Image, resampler: inout Resampler, into result: inout Image
    ) throws(DecodeError) -> DecodeWarnings {
        let format = header.format
        if geometry.isPureCrop {
            let roi = PixelRect(
                x: Int(geometry.x0), y: Int(geometry.y0), width: geometry.width, height: geometry.height)
            let whole = roi.x == 0 && roi.y == 0 && roi.width == geometry.sourceWidth && roi.height == geometry.sourceHeight
            return try ImageDecoder.decode(bytes, into: &result, options: options, region: whole ? nil : roi, header: header)
        }
        let scale = decodeScale(for: geometry, format: format, allowScaledDecode: allowScaledDecode)
        let fullW = (geometry.sourceWidth + scale - 1) / scale
        let fullH = (geometry.sourceHeight + scale - 1) / scale
        computeAxes(geometry, fullWidth: fullW, fullHeight: fullH, resampler: &resampler)
        let roi = taps(resampler, fullWidth: fullW, fullHeight: fullH)
        let warnings = try ImageDecoder.decode(bytes, into: &decoded, options: options, scale: scale, region: roi, header: header)
        result.reshape(width: geometry.width, height: geometry.height)
        resampleInto(&result, from: decoded, originX: roi.x, originY: roi.y, resampler: &resampler)
        return warnings
    }

    /// The JPEG DCT scale denominator (1, 2, 4 or 8) at which ``realize(_:bytes:header:options:allowScaledDecode:decoded:resampler:into:)``
    /// decodes `geometry`: the largest that still leaves the window at least as large as the output
    /// on both axes; 1 for a pure crop, for PNG, and when scaled decoding is not allowed.
    ///
    /// The rule is stated once, here, because the decoded cache depends on it: a sample decoded at
    /// a scale above 1 cannot be rebuilt bit for bit from full-resolution pixels (the DCT-domain
    /// downscale is not an antialiased resize), so the cache must know when the plain path would
    /// scale (see ``Pipeline/prefixReproduces(prefix:suffix:whole:format:allowScaledDecode:)``).
    public static func decodeScale(for geometry: Geometry, format: ImageFormat, allowScaledDecode: Bool) -> Int {
        guard allowScaledDecode && format == .jpeg && !geometry.isPureCrop else { return 1 }
        let shrinkX = (geometry.x1 - geometry.x0) / Double(geometry.width)
        let shrinkY = (geometry.y1 - geometry.y0) / Double(geometry.height)
        for d in [8, 4, 2] where shrinkX >= Double(d) && shrinkY >= Double(d) { return d }
        return 1
    }

    /// Realises `geometry` (without its flips) from packed RGB8 pixels in memory (`width × height`,
    /// which must be the geometry's source size) into `result`: the same taps, kernels and pass
    /// order as from a file decoded at scale 1, so the bytes are those
    /// ``realize(_:bytes:header:options:allowScaledDecode:decoded:resampler:into:)`` gives when it
    /// does not scale.
    public static func realize(
        _ geometry: Geometry, pixels: UnsafePointer<UInt8>, width: Int, height: Int, resampler: inout Resampler,
        into result: inout Image
    ) {
        precondition(geometry.sourceWidth == width && geometry.sourceHeight == height, "the pixels are not the geometry's source")
        result.reshape(width: geometry.width, height: geometry.height)
        if geometry.isPureCrop {
            let x0 = Int(geometry.x0)
            let y0 = Int(geometry.y0)
            let rowBytes = geometry.width * 3
            result.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<geometry.height {
                    (dst.baseAddress! + y * rowBytes).update(from: pixels + ((y0 + y) * width + x0) * 3, count: rowBytes)
                }
            }
            return
        }
        computeAxes(geometry, fullWidth: width, fullHeight: height, resampler: &resampler)
        let (w, h) = (result.width, result.height)
        result.pixels.withUnsafeMutableBufferPointer { dst in
            resampler.resample(
                source: pixels, sourceWidth: width, originX: 0, originY: 0, into: dst.baseAddress!, outWidth: w, outHeight: h)
        }
    }

    /// Realises `geometry`, flips included, from an image in memory.
    public static func realize(_ geometry: Geometry, from image: Image, resampler: inout Resampler) -> Image {
        precondition(geometry.sourceWidth == image.width && geometry.sourceHeight == image.height)
        var result = Image()
        if geometry.isPureCrop {
            result.reshape(width: geometry.width, height: geometry.height)
            let x0 = Int(geometry.x0)
            let y0 = Int(geometry.y0)
            let rowBytes = geometry.width * 3
            image.pixels.withUnsafeBufferPointer { src in
                result.pixels.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<geometry.height {
                        let from = src.baseAddress! + ((y0 + y) * image.width + x0) * 3
                        (dst.baseAddress! + y * rowBytes).update(from: from, count: rowBytes)
                    }
                }
            }
        } else {
            computeAxes(geometry, fullWidth: image.width, fullHeight: image.height, resampler: &resampler)
            result.reshape(width: geometry.width, height: geometry.height)
            resampleInto(&result, from: image, originX: 0, originY: 0, resampler: &resampler)
        }
        if geometry.flipH || geometry.flipV {
            let unflipped = result
            var dummyRandom = SampleRandom(seed: 0, epoch: 0, sample: 0)  // mirroring draws nothing
            result.pixels.withUnsafeMutableBytes { out in
                OutputFormat().emit(
                    unflipped, flipH: geometry.flipH, flipV: geometry.flipV, noiseSigma: 0,
                    random: &dummyRandom, into: out.baseAddress!)
            }
        }
        return result
    }

    static func computeAxes(_ g: Geometry, fullWidth: Int, fullHeight: Int, resampler: inout Resampler) {
        let sx = Double(fullWidth) / Double(g.sourceWidth)
        let sy = Double(fullHeight) / Double(g.sourceHeight)
        resampler.horizontal.compute(inSize: fullWidth, in0: g.x0 * sx, in1: g.x1 * sx, outSize: g.width)
        resampler.vertical.compute(inSize: fullHeight, in0: g.y0 * sy, in1: g.y1 * sy, outSize: g.height)
    }

    /// The region covering every tap (at least one pixel, inside the image).
    static func taps(_ r: Resampler, fullWidth: Int, fullHeight: Int) -> PixelRect {
        var x = r.horizontal.lower
        var w = r.horizontal.upper - x
        var y = r.vertical.lower
        var h = r.vertical.upper - y
        if w <= 0 {
            x = 0
            w = 1
        }
        if h <= 0 {
            y = 0
            h = 1
        }
        return PixelRect(x: min(x, fullWidth - 1), y: min(y, fullHeight - 1), width: w, height: h)
    }

    static func resampleInto(_ result: inout Image, from source: Image, originX: Int, originY: Int, resampler: inout Resampler) {
        let (w, h) = (result.width, result.height)
        source.pixels.withUnsafeBufferPointer { src in
            result.pixels.withUnsafeMutableBufferPointer { dst in
                resampler.resample(
                    source: src.baseAddress!, sourceWidth: source.width, originX: originX, originY: originY,
                    into: dst.baseAddress!, outWidth: w, outHeight: h)
            }
        }
    }
}
