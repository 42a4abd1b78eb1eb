import CAugKernels

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
/// `clamp(round(v + 255 · noise))`, rounded half up. Conversion, mirroring, noise and normalisation happen in one
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
    /// One pass per output row: the row's noise deviates are made first (``NoiseTable``, keyed by
    /// one 64-bit draw per row), then each channel is converted and stored in place. float32 is
    /// `v · (1 / (255·std)) − mean/std` in a SIMD kernel (`aug_emit_row_f32`), equal to the
    /// formula within a float rounding; uint8 is `aug_emit_row_u8`. No per-pixel branches on layout
    /// or dtype.
    public func emit(
        _ image: Image, flipH: Bool, flipV: Bool, noiseSigma: Float, random: inout SampleRandom,
        into destination: UnsafeMutableRawPointer
    ) {
        let w = image.width
        let h = image.height
        let plane = w * h
        let noisy = noiseSigma > 0
        // Element (x, c) of output row y lands at `rowStart + c * channelStride + x * step`.
        let channelStride = layout == .nchw ? plane : 1
        let step = layout == .nchw ? 1 : 3
        // Per-channel constants and the row's noise live on the stack: no allocation per image.
        // Constants: 3 scales, 3 biases (float32: (v/255 − mean) / std as a multiply and an add),
        // 3 noise amplitudes.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9) { constants in
            for c in 0..<3 {
                constants[c] = 1 / (255 * std[c])
                constants[3 + c] = -mean[c] / std[c]
                constants[6 + c] = dtype == .float32 ? noiseSigma / std[c] : noiseSigma * 255
            }
            let scales = UnsafePointer(constants.baseAddress!)
            let biases = scales + 3
            let amps = scales + 6
            withUnsafeTemporaryAllocation(of: Float.self, capacity: noisy ? w * 3 : 1) { noiseRow in
                image.pixels.withUnsafeBufferPointer { pbuf in
                    NoiseTable.values.withUnsafeBufferPointer { tbuf in
                        let src = pbuf.baseAddress!
                        let noise = noisy ? UnsafePointer(noiseRow.baseAddress!) : nil
                        for y in 0..<h {
                            if noisy { NoiseTable.fill(noiseRow, from: tbuf, random: &random) }
                            let row = src + (flipV ? h - 1 - y : y) * w * 3
                            let rowStart = layout == .nchw ? y &* w : y &* w &* 3
                            switch dtype {
                            case .float32:
                                aug_emit_row_f32(
                                    row, Int32(w), flipH ? 1 : 0, scales, biases, noise, amps,
                                    destination.assumingMemoryBound(to: Float.self) + rowStart, channelStride, step)
                            case .uint8:
                                aug_emit_row_u8(
                                    row, Int32(w), flipH ? 1 : 0, noise, amps,
                                    destination.assumingMemoryBound(to: UInt8.self) + rowStart, channelStride, step)
                            }
                        }
                    }
                }
            }
        }
    }
}
