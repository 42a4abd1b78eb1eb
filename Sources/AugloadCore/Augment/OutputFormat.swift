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
    public var layout: Layout
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
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// Bytes one `width × height` image occupies.
    public func imageBytes(width: Int, height: Int) -> Int { width * height * 3 * dtype.size }

    /// The shape of a batch of `count` images of `width × height`.
    public func shape(count: Int, width: Int, height: Int) -> [Int] {
        layout == .nhwc ? [count, height, width, 3] : [count, 3, height, width]
    }

    /// Writes `image` (mirrored as asked, with optional gaussian noise of `sigma` in [0, 1] units)
    /// to `destination`, which must hold ``imageBytes(width:height:)`` bytes.
    public func emit(
        _ image: Image, flipH: Bool, flipV: Bool, noiseSigma: Float, random: inout SampleRandom,
        into destination: UnsafeMutableRawPointer
    ) {
        let w = image.width
        let h = image.height
        let plane = w * h
        let table = NoiseTable.values
        image.pixels.withUnsafeBufferPointer { pbuf in
            table.withUnsafeBufferPointer { tbuf in
                let src = pbuf.baseAddress!
                let noise = tbuf.baseAddress!
                var bits: UInt64 = 0
                var left = 0
                @inline(__always) func nextNoise() -> Float {
                    if left == 0 {
                        bits = random.next()
                        left = 5
                    }
                    let z = noise[Int(bits & 0xFFF)]
                    bits >>= 12
                    left -= 1
                    return z
                }
                let noisy = noiseSigma > 0
                switch dtype {
                case .uint8:
                    let out = destination.assumingMemoryBound(to: UInt8.self)
                    let amp = noiseSigma * 255
                    for y in 0..<h {
                        let sy = flipV ? h - 1 - y : y
                        let row = src + sy * w * 3
                        for x in 0..<w {
                            let sx = flipH ? w - 1 - x : x
                            let p = row + sx * 3
                            for c in 0..<3 {
                                var v = p[c]
                                if noisy {
                                    let f = (Float(v) + amp * nextNoise()).rounded()
                                    v = f <= 0 ? 0 : (f >= 255 ? 255 : UInt8(f))
                                }
                                if layout == .nhwc {
                                    out[(y * w + x) * 3 + c] = v
                                } else {
                                    out[c * plane + y * w + x] = v
                                }
                            }
                        }
                    }
                case .float32:
                    let out = destination.assumingMemoryBound(to: Float.self)
                    let scale0 = 1 / (255 * std[0])
                    let scale1 = 1 / (255 * std[1])
                    let scale2 = 1 / (255 * std[2])
                    let scales = (scale0, scale1, scale2)
                    let offsets = (mean[0] / std[0], mean[1] / std[1], mean[2] / std[2])
                    let amps = (noiseSigma / std[0], noiseSigma / std[1], noiseSigma / std[2])
                    for y in 0..<h {
                        let sy = flipV ? h - 1 - y : y
                        let row = src + sy * w * 3
                        for x in 0..<w {
                            let sx = flipH ? w - 1 - x : x
                            let p = row + sx * 3
                            var r = Float(p[0]) * scales.0 - offsets.0
                            var g = Float(p[1]) * scales.1 - offsets.1
                            var b = Float(p[2]) * scales.2 - offsets.2
                            if noisy {
                                r += amps.0 * nextNoise()
                                g += amps.1 * nextNoise()
                                b += amps.2 * nextNoise()
                            }
                            if layout == .nhwc {
                                let o = out + (y * w + x) * 3
                                o[0] = r
                                o[1] = g
                                o[2] = b
                            } else {
                                let o = out + y * w + x
                                o[0] = r
                                o[plane] = g
                                o[2 * plane] = b
                            }
                        }
                    }
                }
            }
        }
    }
}
