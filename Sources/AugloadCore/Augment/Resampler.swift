import CAugKernels

/// Separable, fixed-point bilinear resampling with antialiasing when shrinking.
///
/// The arithmetic follows Pillow's `Image.resize(..., BILINEAR, box=...)` (the filter torchvision
/// uses on PIL images): a triangle filter whose support widens by the shrink factor, weights
/// normalised and rounded to fixed point, two separable passes each rounded to 8 bits. Weights have
/// 14 fractional bits so they fit 16-bit SIMD lanes (Pillow uses 22, Pillow-SIMD up to 16) and,
/// when shrinking, the vertical pass runs first (Pillow runs the horizontal one first); results
/// match Pillow within 1 LSB.
/// The passes are the SIMD kernels of `CAugKernels`.
///
/// Coordinates are those of a *full* image (`fullWidth × fullHeight`); the input buffer may hold
/// only a region of it starting at `(originX, originY)`, as long as that region covers the taps
/// (``Axis/lower``..<``Axis/upper``). Taps are clamped to the full image's bounds, so resampling a
/// decoded region gives exactly the bytes resampling the whole decoded image would.
public struct Resampler: Sendable {
    /// Fractional bits of every weight: the most that keep a weight of 1 within 16 bits.
    static let precision = Int(AUG_RESAMPLE_PRECISION)

    /// The taps of one axis: for each output position, the first input index, the tap count, and
    /// `ksize` fixed-point weights with ``precision`` fractional bits.
    ///
    /// 14 bits keep every weight within 16 bits, so two taps cost one 16-bit multiply-add in the
    /// kernels; rounding the weights moves an output by at most ~0.03 before its own rounding.
    /// The precision is the same for every axis (not the most each axis' weights allow, as
    /// Pillow-SIMD picks it) so that an output's bytes never depend on which other outputs an
    /// axis covers: a fused crop-and-resize equals resizing everything, then cropping.
    public struct Axis: Sendable {
        var starts: [Int32] = []
        var counts: [Int32] = []
        var weights: [Int32] = []
        var ksize = 0
        /// The first input index any output needs.
        public private(set) var lower = 0
        /// One past the last input index any output needs.
        public private(set) var upper = 0
        /// Input pixels per output pixel (the window's length over the output size): above 1 the
        /// axis shrinks.
        public private(set) var scale = 1.0

        /// The arguments of the last ``compute(inSize:in0:in1:outSize:)``: the same geometry again
        /// (same-sized images with a centre crop, say) reuses the taps.
        private var computedFor: (inSize: Int, in0: Double, in1: Double, outSize: Int)?

        /// Computes taps for mapping the window `in0..<in1` of an axis of `inSize` pixels onto
        /// `outSize` pixels. Reuses this axis' storage, and its taps when the arguments repeat.
        public mutating func compute(inSize: Int, in0: Double, in1: Double, outSize: Int) {
            if let last = computedFor, last == (inSize, in0, in1, outSize) { return }
            computedFor = (inSize, in0, in1, outSize)
            let scale = (in1 - in0) / Double(outSize)
            self.scale = scale
            let filterScale = max(scale, 1.0)
            let support = 1.0 * filterScale
            // Pillow's tap limit is odd; the weight rows get one more (zero) entry so the kernels
            // can take taps in pairs.
            let maxTaps = Int(support.rounded(.up)) * 2 + 1
            ksize = maxTaps + 1
            starts.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            weights.removeAll(keepingCapacity: true)
            weights.reserveCapacity(outSize * ksize)
            let one = Double(1 << Resampler.precision)
            let inverse = 1.0 / filterScale
            var lo = Int.max
            var hi = Int.min
            withUnsafeTemporaryAllocation(of: Double.self, capacity: ksize) { k in
                for xx in 0..<outSize {
                    let center = in0 + (Double(xx) + 0.5) * scale
                    var xmin = Int(center - support + 0.5)
                    if xmin < 0 { xmin = 0 }
                    var xmax = Int(center + support + 0.5)
                    if xmax > inSize { xmax = inSize }
                    // Int() truncates toward zero like C's (int) cast; a window left of 0 can give
                    // xmax below xmin: no taps (Pillow writes 0 there too).
                    let n = max(0, min(xmax - xmin, maxTaps))
                    var total = 0.0
                    for x in 0..<n {
                        var t = (Double(x + xmin) - center + 0.5) * inverse
                        if t < 0 { t = -t }
                        let w = t < 1 ? 1 - t : 0
                        k[x] = w
                        total += w
                    }
                    for x in 0..<ksize {
                        var w = x < n ? k[x] : 0
                        if x < n && total != 0 { w /= total }
                        weights.append(Int32(w < 0 ? (-0.5 + w * one) : (0.5 + w * one)))
                    }
                    starts.append(Int32(xmin))
                    counts.append(Int32(n))
                    if n > 0 {
                        lo = min(lo, xmin)
                        hi = max(hi, xmin + n)
                    }
                }
            }
            if lo > hi {
                lo = 0
                hi = 0
            }
            lower = lo
            upper = hi
        }
    }

    /// The taps of the horizontal pass.
    public var horizontal = Axis()
    /// The taps of the vertical pass.
    public var vertical = Axis()
    private var temp: [UInt8] = []

    public init() {}

    /// Resamples with the taps in ``horizontal`` and ``vertical`` (already computed).
    ///
    /// - Parameters:
    ///   - source: RGB8 pixels of a region of the full image, rows of `sourceWidth` pixels.
    ///   - originX/originY: where the region starts in the full image.
    ///   - destination: `outWidth × outHeight` RGB8 pixels, rows of `outWidth * 3` bytes.
    public mutating func resample(
        source: UnsafePointer<UInt8>, sourceWidth: Int, originX: Int, originY: Int,
        into destination: UnsafeMutablePointer<UInt8>, outWidth: Int, outHeight: Int
    ) {
        precondition(horizontal.starts.count == outWidth && vertical.starts.count == outHeight)
        let rowFirst = vertical.lower
        let rows = vertical.upper - vertical.lower
        let columnFirst = horizontal.lower
        let columns = horizontal.upper - horizontal.lower
        // Pillow resamples horizontally first. When the vertical axis shrinks (the usual case),
        // the vertical pass first is cheaper: it is the vectorised one, and the horizontal pass
        // then runs on output rows only. Both orders stay within 1 LSB of Pillow, and every worker
        // picks the same order for the same geometry. The order follows the axis' scale, not the
        // rows the taps touch: a crop of a resize has the scale of the whole resize but its taps
        // touch a row or two more than its own height, so deciding on rows could pick another
        // order (another rounding) for a fused crop+resize than for resize-then-crop: a 63x200
        // image resized to 64x203 went horizontal first, its crop to 56x56 (taps on 57 rows)
        // vertical first, and bytes differed (PrefixTests). The decoded cache relies on the two
        // being equal. Near-identity upscales are the only geometries whose order this changed.
        let verticalFirst = vertical.scale > 1 && columns > 0
        let needed = verticalFirst ? outHeight * columns * 3 : rows * outWidth * 3
        // Take the scratch buffer out of self so the passes (methods on self) can run while it is
        // borrowed; put back afterwards, capacity kept.
        var scratch = temp
        temp = []
        defer { temp = scratch }
        if scratch.count < needed { scratch.resizeUninitialized(to: needed) }
        scratch.withUnsafeMutableBufferPointer { tbuf in
            let t = tbuf.baseAddress!
            if verticalFirst {
                verticalPass(
                    source + ((rowFirst - originY) * sourceWidth + columnFirst - originX) * 3, rowStride: sourceWidth * 3,
                    firstRow: rowFirst, bytes: columns * 3, into: t)
                horizontalPass(
                    UnsafePointer(t), rowStride: columns * 3, columnOrigin: columnFirst,
                    sourceEnd: UnsafePointer(t) + outHeight * columns * 3, rows: outHeight, into: destination,
                    outWidth: outWidth)
            } else {
                horizontalPass(
                    source + (rowFirst - originY) * sourceWidth * 3, rowStride: sourceWidth * 3, columnOrigin: originX,
                    sourceEnd: source + (rowFirst - originY + rows) * sourceWidth * 3, rows: rows, into: t,
                    outWidth: outWidth)
                verticalPass(
                    UnsafePointer(t), rowStride: outWidth * 3, firstRow: rowFirst, bytes: outWidth * 3, into: destination)
            }
        }
    }

    /// Resamples `rows` rows (row r at `source + r * rowStride`, whose first pixel is full-image
    /// column `columnOrigin`) to `outWidth` pixels each, rows packed in `destination`. The rows
    /// must not extend past `sourceEnd`.
    private func horizontalPass(
        _ source: UnsafePointer<UInt8>, rowStride: Int, columnOrigin: Int, sourceEnd: UnsafePointer<UInt8>, rows: Int,
        into destination: UnsafeMutablePointer<UInt8>, outWidth: Int
    ) {
        horizontal.withKernelAxis { axis in
            aug_resample_horizontal(
                source, rowStride, Int32(columnOrigin), sourceEnd, Int32(rows), axis, destination, outWidth * 3)
        }
    }

    /// Output row yy (of ``vertical``'s outputs) is the weighted sum of full-image rows
    /// `starts[yy] ..< starts[yy] + counts[yy]` (each `bytes` long; full-image row `firstRow` is at
    /// `source`, rows `rowStride` apart); rows packed in `destination`.
    private func verticalPass(
        _ source: UnsafePointer<UInt8>, rowStride: Int, firstRow: Int, bytes: Int, into destination: UnsafeMutablePointer<UInt8>
    ) {
        vertical.withKernelAxis { axis in
            aug_resample_vertical(source, rowStride, Int32(firstRow), bytes, axis, destination, bytes)
        }
    }
}

extension Resampler.Axis {
    /// Calls `body` with this axis' taps as the C kernels take them.
    func withKernelAxis(_ body: (aug_axis) -> Void) {
        starts.withUnsafeBufferPointer { s in
            counts.withUnsafeBufferPointer { c in
                weights.withUnsafeBufferPointer { w in
                    body(
                        aug_axis(
                            starts: s.baseAddress!, counts: c.baseAddress!, weights: w.baseAddress!, ksize: Int32(ksize),
                            size: Int32(s.count), precision: AUG_RESAMPLE_PRECISION))
                }
            }
        }
    }
}
