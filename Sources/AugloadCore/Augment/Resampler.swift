/// Separable, fixed-point bilinear resampling with antialiasing when shrinking.
///
/// The arithmetic follows Pillow's `Image.resize(..., BILINEAR, box=...)` (the filter torchvision
/// uses on PIL images): a triangle filter whose support widens by the shrink factor, weights
/// normalised and rounded to 22-bit fixed point, a horizontal pass over only the rows the vertical
/// pass needs, rounded to 8 bits, then the vertical pass. Results match Pillow within 1 LSB.
///
/// Coordinates are those of a *full* image (`fullWidth × fullHeight`); the input buffer may hold
/// only a region of it starting at `(originX, originY)`, as long as that region covers the taps
/// (``Axis/lower``..<``Axis/upper``). Taps are clamped to the full image's bounds, so resampling a
/// decoded region gives exactly the bytes resampling the whole decoded image would.
public struct Resampler: Sendable {
    static let precisionBits = 22

    /// The taps of one axis: for each output position, the first input index, the tap count, and
    /// `ksize` fixed-point weights.
    public struct Axis: Sendable {
        var starts: [Int32] = []
        var counts: [Int32] = []
        var weights: [Int32] = []
        var ksize = 0
        /// The first input index any output needs.
        public private(set) var lower = 0
        /// One past the last input index any output needs.
        public private(set) var upper = 0

        /// Computes taps for mapping the window `in0..<in1` of an axis of `inSize` pixels onto
        /// `outSize` pixels. Reuses this axis' storage.
        public mutating func compute(inSize: Int, in0: Double, in1: Double, outSize: Int) {
            let scale = (in1 - in0) / Double(outSize)
            let filterScale = max(scale, 1.0)
            let support = 1.0 * filterScale
            ksize = Int(support.rounded(.up)) * 2 + 1
            starts.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            weights.removeAll(keepingCapacity: true)
            weights.reserveCapacity(outSize * ksize)
            let inverse = 1.0 / filterScale
            let one = Double(1 << Resampler.precisionBits)
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
                    let n = max(0, min(xmax - xmin, ksize))
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
        let needed = rows * outWidth * 3
        if temp.count < needed { temp.resizeUninitialized(to: needed) }
        let half = Int32(1 << (Resampler.precisionBits - 1))
        let shift = Int32(Resampler.precisionBits)  // shifts use &>>: no over-shift branches
        temp.withUnsafeMutableBufferPointer { tbuf in
            let t = tbuf.baseAddress!
            let ks = horizontal.ksize
            horizontal.weights.withUnsafeBufferPointer { wbuf in
                horizontal.starts.withUnsafeBufferPointer { sbuf in
                    horizontal.counts.withUnsafeBufferPointer { cbuf in
                        let kw = wbuf.baseAddress!
                        let starts = sbuf.baseAddress!
                        let counts = cbuf.baseAddress!
                        let initial = SIMD4<Int32>(repeating: half)
                        for r in 0..<rows {
                            let srcRow = source + ((rowFirst + r - originY) * sourceWidth - originX) * 3
                            var out = t + r * outWidth * 3
                            for xx in 0..<outWidth {
                                let k = kw + xx * ks
                                var p = srcRow + Int(starts[xx]) * 3
                                // Three channels in the lanes of one vector: one multiply-add per tap.
                                var acc = initial
                                for x in 0..<Int(counts[xx]) {
                                    acc &+= SIMD4<Int32>(Int32(p[0]), Int32(p[1]), Int32(p[2]), 0) &* k[x]
                                    p += 3
                                }
                                out[0] = clip8(acc[0] &>> shift)
                                out[1] = clip8(acc[1] &>> shift)
                                out[2] = clip8(acc[2] &>> shift)
                                out += 3
                            }
                        }
                    }
                }
            }
            vertical.weights.withUnsafeBufferPointer { wbuf in
                let kw = wbuf.baseAddress!
                let ks = vertical.ksize
                let stride = outWidth * 3
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: stride) { accBuf in
                    let acc = accBuf.baseAddress!
                    for yy in 0..<outHeight {
                        let start = Int(vertical.starts[yy]) - rowFirst
                        let n = Int(vertical.counts[yy])
                        let k = kw + yy * ks
                        for i in 0..<stride { acc[i] = half }
                        for y in 0..<n {
                            let w = k[y]
                            let row = t + (start + y) * stride
                            for i in 0..<stride { acc[i] &+= Int32(row[i]) &* w }
                        }
                        let out = destination + yy * stride
                        for i in 0..<stride { out[i] = clip8(acc[i] &>> shift) }
                    }
                }
            }
        }
    }
}

@inline(__always)
func clip8(_ v: Int32) -> UInt8 {
    UInt8(truncatingIfNeeded: min(max(v, 0), 255))
}
