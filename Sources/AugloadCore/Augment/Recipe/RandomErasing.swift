import CAugKernels

#if canImport(Glibc)
    import Glibc
#endif

/// `RandomErasing(p, scale, ratio, value)` of torchvision.transforms.v2, applied where torchvision's
/// recipes apply it: to the finished sample (after the float conversion and normalisation), so an
/// erased box holds 0 in normalised units — or standard normal values, one per element.
///
/// The pipeline draws the box after the other steps and before the output pass, then writes the
/// box into the sample's output (``OutputFormat/erase(_:width:height:into:)``); it must be the
/// pipeline's last step. On its own (``apply(to:random:)``, a uint8 image) it fills the box with 0.
///
///     RandomErasing(probability: 0.25)   // torchvision's defaults: scale 0.02...0.33, ratio 0.3...3.3, value 0
public struct RandomErasing: Augmentation, Hashable, Codable {
    /// The chance a sample is erased at all.
    public var probability: Double
    /// The box's area, as a fraction of the image's.
    public var scaleLow = 0.02, scaleHigh = 0.33
    /// The box's aspect ratio (height / width), drawn log-uniform.
    public var ratioLow = 0.3, ratioHigh = 3.3
    /// Fill with standard normal values (torchvision's `value="random"`) instead of 0.
    public var randomValues = false

    /// - Parameters: torchvision's; `randomValues` is `value="random"`.
    public init(
        probability: Double, scale: ClosedRange<Double> = 0.02...0.33, ratio: ClosedRange<Double> = 0.3...3.3,
        randomValues: Bool = false
    ) {
        precondition((0...1).contains(probability), "erasing probability must be in [0, 1]")
        precondition(scale.lowerBound >= 0 && scale.upperBound <= 1, "erasing scale must be within [0, 1]")
        precondition(ratio.lowerBound > 0, "erasing ratio must be positive")
        self.probability = probability
        scaleLow = scale.lowerBound
        scaleHigh = scale.upperBound
        ratioLow = ratio.lowerBound
        ratioHigh = ratio.upperBound
        self.randomValues = randomValues
    }

    /// The box of one sample.
    public struct Box: Sendable, Equatable {
        public var top: Int, left: Int, height: Int, width: Int
        /// Keys the box's normal values (``RandomErasing/randomValues``), else nil: zeros.
        public var valueKey: UInt64?

        /// torchvision's `erase(image, i, j, h, w, v)` call (`v` is 0, or `"normal"`: drawn values).
        public var call: ExplainCall {
            ExplainCall(
                "erase",
                [
                    "i": .integer(top), "j": .integer(left), "h": .integer(height), "w": .integer(width),
                    "v": valueKey == nil ? .number(0) : .text("normal"),
                ])
        }
    }

    /// Draws this sample's box for an output of `width × height`, as v2's `_get_params` does (up
    /// to ten tries of area and ratio; none fitting means no erasing), or nil.
    public func draw(width: Int, height: Int, random: inout SampleRandom) -> Box? {
        guard random.nextUnit() < probability else { return nil }
        let area = Double(width * height)
        let logLow = Double(Float(log(ratioLow)))
        let logHigh = Double(Float(log(ratioHigh)))
        for _ in 0..<10 {
            let eraseArea = area * ColorJitter.uniform(scaleLow, scaleHigh, &random)
            let aspect = Double(Float(exp(ColorJitter.uniform(logLow, logHigh, &random))))
            // Python's round(): half to even.
            let h = Int((eraseArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let w = Int((eraseArea / aspect).squareRoot().rounded(.toNearestOrEven))
            guard h < height && w < width else { continue }
            let key: UInt64? = randomValues ? random.next() : nil
            let top = random.nextInt(below: height - h + 1)
            let left = random.nextInt(below: width - w + 1)
            return Box(top: top, left: left, height: h, width: w, valueKey: key)
        }
        return nil
    }

    /// Erases a uint8 image's box with 0 (the step on its own, outside a pipeline's output pass).
    public func apply(to image: inout Image, random: inout SampleRandom) {
        guard let box = draw(width: image.width, height: image.height, random: &random) else { return }
        let w = image.width
        image.pixels.withUnsafeMutableBufferPointer { px in
            for y in box.top..<(box.top + box.height) {
                for i in ((y * w + box.left) * 3)..<((y * w + box.left + box.width) * 3) { px[i] = 0 }
            }
        }
    }
}

extension OutputFormat {
    /// Writes an erasing box into one sample already emitted at `destination` (`width × height`):
    /// zeros, or standard normal values (float32 only; each row of each channel from the noise
    /// table keyed by the box's key, the row and the channel).
    public func erase(_ box: RandomErasing.Box, width: Int, height: Int, into destination: UnsafeMutableRawPointer) {
        let plane = width * height
        let channelStride = layout == .nchw ? plane : 1
        let step = layout == .nchw ? 1 : 3
        let rowStride = layout == .nchw ? width : width * 3
        withUnsafeTemporaryAllocation(of: Float.self, capacity: box.width) { values in
            for c in 0..<3 {
                for y in box.top..<(box.top + box.height) {
                    if let key = box.valueKey {
                        NoiseTable.values.withUnsafeBufferPointer { table in
                            let rowKey = SampleRandom.mix(key &+ UInt64(c * height + y) &* 0x9E37_79B9_7F4A_7C15)
                            aug_noise_fill(table.baseAddress!, rowKey, values.baseAddress!, Int32(box.width))
                        }
                    }
                    let start = y * rowStride + c * channelStride + box.left * step
                    for x in 0..<box.width {
                        let at = start + x * step
                        switch dtype {
                        case .float32:
                            destination.assumingMemoryBound(to: Float.self)[at] = box.valueKey == nil ? 0 : values[x]
                        case .uint8:
                            destination.assumingMemoryBound(to: UInt8.self)[at] = 0
                        }
                    }
                }
            }
        }
    }
}
