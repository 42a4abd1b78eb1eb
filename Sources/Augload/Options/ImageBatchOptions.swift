/// Crop modes of the built-in pipeline.
public enum CropMode: String, Sendable, Codable, CaseIterable {
    /// Resize the whole image to size × size.
    case none
    /// Resize the shorter side to size·8/7 (256 for 224), then crop the centre.
    case center
    /// Resize the shorter side to size·8/7, then crop at a random position.
    case random
    /// torchvision's RandomResizedCrop(size): random area 8–100 %, aspect 3/4–4/3.
    case resized
}

/// Flip modes of the built-in pipeline (each axis with probability 0.5).
public enum FlipMode: String, Sendable, Codable, CaseIterable {
    case none, h, v, hv
}

/// What to do with a file that cannot be decoded.
public enum ErrorPolicy: String, Sendable, Codable, CaseIterable {
    /// Stop with an error naming the file and the reason.
    case fail
    /// Replace the sample with a good one chosen deterministically from the seed, and report it.
    case skip
}

/// Options of ``ImageBatchSequence``: a validated value type; every error names the bad value
/// and the allowed range. Each property's name, range and help are in ``OptionSchema`` (which
/// also makes this type `Codable`); its default is the property's initial value here.
public struct ImageBatchOptions: Sendable, Hashable {
    /// Images per batch (at least 1; default 64).
    public var batchSize = 64
    /// Output side in pixels; 0 keeps each image's own size (needs `batchSize == 1`).
    public var size = 224
    /// How each image is cropped to `size` (default `.random`).
    public var crop = CropMode.random
    /// Which axes may be mirrored, each with probability 0.5 (default `.h`, horizontal).
    public var flip = FlipMode.h
    /// Gaussian noise sigma in [0, 1] intensity units; 0 = off.
    public var noise: Float = 0
    /// Memory layout of the image tensor (default `.nhwc`).
    public var layout = Layout.nhwc
    /// Element type of the image tensor (default `.float32`).
    public var dtype = DType.float32
    /// Per-channel normalisation for float32 output (defaults: none, values in [0, 1]).
    public var mean: [Float] = [0, 0, 0]
    /// Per-channel standard deviation divided by, for float32 output (default 1; must be non-zero).
    public var std: [Float] = [1, 1, 1]
    /// Shuffle the samples each epoch (default true).
    public var shuffle = true
    /// Seed of all shuffling and augmentation randomness (default 0).
    public var seed: UInt64 = 0
    /// Drop the last batch of an epoch when it is not full.
    public var dropLast = false
    /// What to do with a file that cannot be decoded (default `.fail`).
    public var onError = ErrorPolicy.fail
    /// Decoder settings: pixel limit and strictness.
    public var decode = DecodeOptions()
    /// Which part of the dataset this rank trains on (default: all of it).
    public var sharding = Sharding()
    /// Allow JPEG DCT-scaled decoding when a crop is shrunk 2× or more.
    public var scaledDecode = true
    /// The decoded cache: `nil` (off), `"ram"`, `"ram:SIZE"` (like `ram:8G`), a folder path or
    /// `"DIR:SIZE"` (see ``CacheSetting``). Batches are the same bytes with and without it.
    public var cache: String? = nil
    /// A bound on the longer side of each decoded image (`--cache-max-side`): larger files are
    /// first resized so that side is this many pixels, and the pipeline runs on that (see
    /// ``Pipeline/maxSide``). It defines the output whether or not the cache is on, so the batches
    /// stay the same bytes with and without the cache; nil: no bound.
    public var cacheMaxSide: Int? = nil
    /// `--auto-augment`: `trivialaugment`, `randaugment[:N[:M]]`, `autoaugment` or
    /// `augmix[:S[:W[:D[:A]]]]` (torchvision's policies, see ``RecipeOptions/autoAugment(_:)``); nil: none.
    public var autoAugment: String? = nil
    /// `--color-jitter B[,C,S[,H]]` (``RecipeOptions/colorJitter(_:)``); nil: none.
    public var colorJitter: String? = nil
    /// `--grayscale P`: the chance a sample becomes gray (0: never).
    public var grayscale = 0.0
    /// `--blur K[,SMIN,SMAX]` (``RecipeOptions/blur(_:)``); nil: none.
    public var blur: String? = nil
    /// `--erasing P`: torchvision's RandomErasing after normalisation (0: never).
    public var erasing = 0.0
    /// `--erasing-value`: `0` or `random` (standard normal values, float32 output only).
    public var erasingValue = "0"
    /// `--mixup ALPHA`: MixUp's Beta(α, α) (torchvision's `v2.MixUp`; 0: off). With ``cutmix``
    /// too, each batch gets one of the two, 50/50.
    public var mixup = 0.0
    /// `--cutmix ALPHA`: CutMix's Beta(α, α) (torchvision's `v2.CutMix`; 0: off).
    public var cutmix = 0.0
    /// `--mix-prob P`: the chance a batch is mixed at all (default 1).
    public var mixProb = 1.0
    /// `--label-smoothing EPS`: targets `1 − ε + ε/C` on the class and `ε/C` elsewhere (0: off).
    public var labelSmoothing = 0.0

    /// True when labels are float32 targets rather than class indices: a mix or label smoothing is on.
    public var softLabels: Bool { mixup > 0 || cutmix > 0 || labelSmoothing > 0 }

    public init() {}

    /// Checks every option: the one guard, for options built in Swift and options that arrive
    /// encoded (workers decode them, the Python client sends them as JSON), so a bad value is
    /// refused here with its name rather than trapping inside a worker.
    /// - Throws: ``LoaderError`` (`.invalidOptions`) naming the option, its value and the allowed range.
    public func validate() throws(LoaderError) {
        func invalid(_ message: String) -> LoaderError { LoaderError(.invalidOptions, message) }
        try validateRanges()
        if size == 0 && batchSize != 1 {
            throw invalid("size 0 keeps each image's own size, so it needs batch size 1 (got \(batchSize))")
        }
        if sharding.rank >= sharding.worldSize {
            throw invalid("rank must be in 0..<world_size, got rank \(sharding.rank) of \(sharding.worldSize)")
        }
        if let cache { _ = try CacheSetting(parsing: cache) }
        if mean.count != 3 || std.count != 3 || std.contains(where: { $0 == 0 || !$0.isFinite })
            || mean.contains(where: { !$0.isFinite })
        {
            throw invalid("mean and std need 3 finite values each and std must be non-zero, got \(mean) / \(std)")
        }
        do throws(RecipeOptions.Invalid) {
            if let autoAugment { _ = try RecipeOptions.autoAugment(autoAugment) }
            if let colorJitter { _ = try RecipeOptions.colorJitter(colorJitter) }
            if let blur { _ = try RecipeOptions.blur(blur) }
        } catch {
            throw invalid(error.message)
        }
        if let values = OptionSchema.spec("erasing_value").choices, !values.contains(erasingValue) {
            throw invalid("erasing_value must be \(values.joined(separator: " or ")), got '\(erasingValue)'")
        }
        if erasing > 0 && erasingValue == "random" && dtype == .uint8 {
            throw invalid("erasing value random needs dtype float32 (standard normal values do not fit uint8)")
        }
        if labelSmoothing >= 1 { throw invalid("label_smoothing must be in 0..<1, got \(labelSmoothing)") }
        if softLabels && dtype == .uint8 {
            let name = mixup > 0 ? "mixup" : cutmix > 0 ? "cutmix" : "label smoothing"
            throw invalid("\(name) needs dtype float32: a mixed image is not pixel bytes, and the targets are float32")
        }
        if softLabels && size == 0 { throw invalid("mixup, cutmix and label smoothing need a fixed output size (size > 0)") }
        if size == 0 && (autoAugment != nil || erasing > 0) {
            throw invalid("auto-augment and erasing need a fixed output size (size > 0)")
        }
        if dtype == .uint8 && (mean != [0, 0, 0] || std != [1, 1, 1]) {
            throw invalid("normalize, mean and std apply to dtype float32 only (uint8 output is the pixel bytes)")
        }
        if size > 0 && size * size > decode.maxPixels {
            throw invalid("size \(size) makes \(size * size) pixels per image, above the pixel limit \(decode.maxPixels)")
        }
    }

    /// The parsed ``cache`` (nil when off or invalid; ``validate()`` reports invalid values).
    public var cacheSetting: CacheSetting? { cache.flatMap { try? CacheSetting(parsing: $0) } }

    /// The augmentation steps these options describe.
    public var steps: [any Augmentation] {
        var steps: [any Augmentation] = []
        if size > 0 {
            let resizeTo = Int((Double(size) * 8 / 7).rounded())
            switch crop {
            case .none: steps.append(Resize(width: size, height: size))
            case .center: steps += [Resize(shorterSide: resizeTo), CenterCrop(width: size, height: size)]
            case .random: steps += [Resize(shorterSide: resizeTo), RandomCrop(width: size, height: size)]
            case .resized: steps.append(RandomResizedCrop(width: size, height: size))
            }
        }
        switch flip {
        case .none: break
        case .h: steps.append(Flip(horizontal: 0.5))
        case .v: steps.append(Flip(horizontal: 0, vertical: 0.5))
        case .hv: steps.append(Flip(horizontal: 0.5, vertical: 0.5))
        }
        // Recipe steps, in timm's order; the options are validated (a bad string adds nothing here).
        if let policy = autoAugment.flatMap({ try? RecipeOptions.autoAugment($0) }) { steps.append(AutoAugmentation(policy)) }
        if let jitter = colorJitter.flatMap({ try? RecipeOptions.colorJitter($0) }) { steps.append(jitter) }
        if grayscale > 0 && grayscale <= 1 { steps.append(RandomGrayscale(probability: grayscale)) }
        if let blur = blur.flatMap({ try? RecipeOptions.blur($0) }) { steps.append(blur) }
        if noise > 0 { steps.append(GaussianNoise(sigma: noise)) }
        if erasing > 0 && erasing <= 1 {
            steps.append(RandomErasing(probability: erasing, randomValues: erasingValue == "random"))
        }
        return steps
    }

    /// The pipeline these options describe.
    public var pipeline: Pipeline {
        Pipeline(
            steps: steps, output: OutputFormat(layout: layout, dtype: dtype, mean: mean, std: std), decodeOptions: decode,
            allowScaledDecode: scaledDecode, maxSide: cacheMaxSide)
    }
}
