/// Memory layout of a batch of images.
public enum Layout: String, Sendable, Codable, CaseIterable {
    /// batch, height, width, channels (TensorFlow/Keras).
    case nhwc
    /// batch, channels, height, width (PyTorch).
    case nchw
}

/// Element type of a batch of images.
public enum DType: String, Sendable, Codable, CaseIterable {
    case uint8, float32

    /// Bytes per element.
    public var size: Int { self == .uint8 ? 1 : 4 }
}

/// How a finished image is written into its batch: layout, element type and normalisation.
///
/// For `float32`, a pixel `v` becomes `(v / 255 + noise − mean[c]) / std[c]`; for `uint8` it is
/// `clamp(round(v + 255 · noise))`. Conversion, mirroring, noise and normalisation happen in one
/// pass straight into the destination (a shared-memory batch slot), with no intermediate image.
public struct OutputFormat: Sendable, Hashable, Codable {
    /// Memory layout of the image tensor.
    public var layout: Layout
    /// Element type of the image tensor.
    public var dtype: DType
    /// Per-channel mean subtracted (float32 only), in [0, 1] units.
    public var mean: [Float]
    /// Per-channel standard deviation divided by (float32 only).
    public var std: [Float]

    /// - Precondition: `mean` and `std` have 3 entries and `std` has no zero.
    public init(layout: Layout = .nhwc, dtype: DType = .uint8, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]) {
        precondition(mean.count == 3 && std.count == 3, "mean and std need one value per channel (3)")
        precondition(std.allSatisfy { $0 != 0 && $0.isFinite }, "std must be finite and non-zero, got \(std)")
        self.layout = layout
        self.dtype = dtype
        self.mean = mean
        self.std = std
    }

    /// ImageNet's mean and standard deviation, as torchvision's `Normalize` uses them.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    /// ImageNet's per-channel standard deviation (RGB).
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// Bytes one `width × height` image occupies.
    public func imageBytes(width: Int, height: Int) -> Int { width * height * 3 * dtype.size }

    /// The shape of a batch of `count` images of `width × height`.
    public func shape(count: Int, width: Int, height: Int) -> [Int] {
        layout == .nhwc ? [count, height, width, 3] : [count, 3, height, width]
    }

    /// Writes `image` (mirrored as asked, with optional gaussian noise of `sigma` in [0, 1] units)
    /// to `destination`, which must hold ``imageBytes(width:height:)`` bytes.
    ///
    /// One pass per output row: the row's noise deviates are drawn first (12 bits of a 64-bit draw
    /// index ``NoiseTable``), then each channel is converted through a 256-entry lookup table
    /// (`v/255 − mean) / std`) and stored in place — no per-pixel branches on layout or dtype.
    public func emit(
        _ image: Image, flipH: Bool, flipV: Bool, noiseSigma: Float, random: inout SampleRandom,
        into destination: UnsafeMutableRawPointer
    ) {
        let w = image.width
        let h = image.height
        let plane = w * h
        let noisy = noiseSigma > 0
        var lut = [Float](repeating: 0, count: 3 * 256)
        var amps: [Float] = [0, 0, 0]
        for c in 0..<3 {
            for v in 0..<256 { lut[c * 256 + v] = (Float(v) / 255 - mean[c]) / std[c] }
            amps[c] = dtype == .float32 ? noiseSigma / std[c] : noiseSigma * 255
        }
        var noiseRow = [Float](repeating: 0, count: noisy ? w * 3 : 0)
        image.pixels.withUnsafeBufferPointer { pbuf in
            lut.withUnsafeBufferPointer { lbuf in
                noiseRow.withUnsafeMutableBufferPointer { nbuf in
                    NoiseTable.values.withUnsafeBufferPointer { tbuf in
                        let src = pbuf.baseAddress!
                        for y in 0..<h {
                            if noisy { NoiseTable.fill(nbuf, from: tbuf, random: &random) }
                            let row = src + (flipV ? h - 1 - y : y) * w * 3
                            for c in 0..<3 {
                                // Element x of this output row reads source pixel `first + x * step`.
                                let first = flipH ? (w - 1) * 3 + c : c
                                let step = flipH ? -3 : 3
                                let amp = amps[c]
                                let n = noisy ? nbuf.baseAddress! + c * w : nil
                                let stride = layout == .nchw ? 1 : 3
                                let offset = layout == .nchw ? c &* plane &+ y &* w : y &* w &* 3 &+ c
                                // Pointer walks with wrapping arithmetic: no overflow checks in the loop.
                                switch dtype {
                                case .float32:
                                    var o = destination.assumingMemoryBound(to: Float.self) + offset
                                    let table = lbuf.baseAddress! + c &* 256
                                    var p = row + first
                                    if let n {
                                        for x in 0..<w {
                                            o.pointee = table[Int(p.pointee)] + amp * n[x]
                                            p += step
                                            o += stride
                                        }
                                    } else {
                                        for _ in 0..<w {
                                            o.pointee = table[Int(p.pointee)]
                                            p += step
                                            o += stride
                                        }
                                    }
                                case .uint8:
                                    var o = destination.assumingMemoryBound(to: UInt8.self) + offset
                                    var p = row + first
                                    if let n {
                                        for x in 0..<w {
                                            let f = (Float(p.pointee) + amp * n[x]).rounded()
                                            o.pointee = f <= 0 ? 0 : (f >= 255 ? 255 : UInt8(f))
                                            p += step
                                            o += stride
                                        }
                                    } else {
                                        for _ in 0..<w {
                                            o.pointee = p.pointee
                                            p += step
                                            o += stride
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
