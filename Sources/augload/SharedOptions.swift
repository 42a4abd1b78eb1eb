import ArgumentParser
import Augload
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension CropMode: ExpressibleByArgument {}
extension FlipMode: ExpressibleByArgument {}
extension Layout: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
extension Sharding.Remainder: ExpressibleByArgument {}

/// Normalisation presets for float32 output.
enum Normalization: String, ExpressibleByArgument, CaseIterable {
    case none, imagenet
}

/// `--workers N`, for the commands that run one loader.
struct WorkerOption: ParsableArguments {
    @Option(help: "\(OptionSchema.help("workers")) At most one per core runs.")
    var workers = Loader.defaultWorkers

}

/// The options every command shares (docs/cli.md). Their help, ranges and defaults come from
/// ``OptionSchema`` and ``ImageBatchOptions`` (`augload options` lists them); their checks are
/// ``ImageBatchOptions/validate()``'s and `Loader`'s, whose `.invalidOptions` errors exit 2.
struct SharedOptions: ParsableArguments {
    private static let defaults = ImageBatchOptions()

    @OptionGroup var dataset: DatasetOptions

    @Option(help: "\(OptionSchema.help("batch_size"))")
    var batchSize = SharedOptions.defaults.batchSize

    @Option(help: "\(OptionSchema.help("size"))")
    var size = SharedOptions.defaults.size

    @Option(help: "\(OptionSchema.help("epochs"))")
    var epochs = 1

    @Option(help: "\(OptionSchema.help("queue"))")
    var queue = Loader.defaultQueue

    @Option(help: "\(OptionSchema.help("seed"))")
    var seed = SharedOptions.defaults.seed

    @Option(help: "\(OptionSchema.help("flip"))")
    var flip = SharedOptions.defaults.flip

    @Option(help: "\(OptionSchema.help("crop"))")
    var crop = SharedOptions.defaults.crop

    @Option(help: "\(OptionSchema.help("noise"))")
    var noise = SharedOptions.defaults.noise

    @Option(help: "\(OptionSchema.help("layout"))")
    var layout = SharedOptions.defaults.layout

    @Option(help: "\(OptionSchema.help("dtype"))")
    var dtype = SharedOptions.defaults.dtype

    @Option(help: "Normalisation for float32: none or imagenet (torchvision's mean/std).")
    var normalize: Normalization = .none

    @Option(help: ArgumentHelp("\(OptionSchema.help("mean")) Replaces --normalize's.", valueName: "R,G,B"))
    var mean: String?

    @Option(help: ArgumentHelp("\(OptionSchema.help("std")) Replaces --normalize's.", valueName: "R,G,B"))
    var std: String?

    @Flag(inversion: .prefixedNo, help: "\(OptionSchema.help("shuffle"))")
    var shuffle = SharedOptions.defaults.shuffle

    @Option(name: .customLong("on-error"), help: "\(OptionSchema.help("on_error"))")
    var onError = SharedOptions.defaults.onError

    @Option(help: "Stop after this many batches in total.")
    var maxBatches: Int?

    @Flag(help: "\(OptionSchema.help("drop_last"))")
    var dropLast = SharedOptions.defaults.dropLast

    @Option(help: "\(OptionSchema.help("remainder"))")
    var remainder = SharedOptions.defaults.sharding.remainder

    @Option(
        help: ArgumentHelp(
            "\(OptionSchema.help("cache")) Later epochs start from each image's stored deterministic prefix (decode, resize) instead of its file; the batches are the same bytes.",
            discussion:
                "ram: one copy shared by all workers, bounded by SIZE (default: half of the available memory); what does not fit is decoded as without a cache. A folder persists across runs and is reused only for the same files (size, mtime, ctime, inode), pipeline prefix and library version; DIR:SIZE stops writing entries when the folder's entry files would pass SIZE (end a folder named like x:1G with a /).",
            valueName: "ram[:SIZE]|DIR[:SIZE]"))
    var cache: String?

    @Option(
        help: ArgumentHelp(
            "\(OptionSchema.help("cache_max_side")) FFCV's bounded resolution, so a decoded cache of large photos fits.",
            discussion:
                "Defines the output with or without --cache: a larger image is first resized (antialiased) so its longer side is N, and the crop and resize run on that. Smaller images are untouched.",
            valueName: "N"))
    var cacheMaxSide: Int?

    @Option(help: "\(OptionSchema.help("max_pixels"))")
    var maxPixels = SharedOptions.defaults.decode.maxPixels

    @Flag(inversion: .prefixedNo, help: "\(OptionSchema.help("scaled_decode"))")
    var scaledDecode = SharedOptions.defaults.scaledDecode

    @Option(help: "\(OptionSchema.help("rank")) Default: RANK, else SLURM_PROCID, else 0.")
    var rank: Int?

    @Option(help: "\(OptionSchema.help("world_size")) Default: WORLD_SIZE, else SLURM_NTASKS, else 1.")
    var worldSize: Int?

    @Flag(help: "\(OptionSchema.help("strict"))")
    var strict = SharedOptions.defaults.decode.strict

    @Option(
        help: ArgumentHelp(
            "\(OptionSchema.help("auto_augment")) RandAugment's defaults: 2, 9; AutoAugment's policy: ImageNet's; AugMix's: 3, 3, -1 (1...3 drawn), 1.0, all operations, bilinear.",
            valueName: "POLICY"))
    var autoAugment: String?

    @Option(
        help: ArgumentHelp("\(OptionSchema.help("color_jitter"))", valueName: "B[,C,S[,H]]"))
    var colorJitter: String?

    @Option(help: "\(OptionSchema.help("grayscale"))")
    var grayscale = SharedOptions.defaults.grayscale

    @Option(
        help: ArgumentHelp("\(OptionSchema.help("blur"))", valueName: "K[,SMIN,SMAX]")
    )
    var blur: String?

    @Option(help: "\(OptionSchema.help("erasing"))")
    var erasing = SharedOptions.defaults.erasing

    @Option(
        help: ArgumentHelp("\(OptionSchema.help("erasing_value"))", valueName: "0|random")
    )
    var erasingValue: String = "0"

    @Option(help: ArgumentHelp("\(OptionSchema.help("mixup"))", valueName: "ALPHA"))
    var mixup = SharedOptions.defaults.mixup

    @Option(help: ArgumentHelp("\(OptionSchema.help("cutmix"))", valueName: "ALPHA"))
    var cutmix = SharedOptions.defaults.cutmix

    @Option(help: "\(OptionSchema.help("mix_prob"))")
    var mixProb = SharedOptions.defaults.mixProb

    @Option(help: "\(OptionSchema.help("label_smoothing"))")
    var labelSmoothing = SharedOptions.defaults.labelSmoothing

    @OptionGroup var output: OutputOptions

    /// Checks what only the command line has; the sequence and loader options are checked once,
    /// by ``ImageBatchOptions/validate()`` and `Loader.init`, whose `.invalidOptions` errors exit 2.
    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let maxBatches, maxBatches < 1 { throw ValidationError("--max-batches must be at least 1, got \(maxBatches)") }
        if (mean != nil || std != nil) && normalize != .none { throw ValidationError("give --normalize or --mean/--std, not both") }
        for (flag, value) in [("--mean", mean), ("--std", std)] {
            if let value, Self.triple(value).count != 3 {
                throw ValidationError("\(flag) must be 3 numbers separated by commas (R,G,B), got '\(value)'")
            }
        }
        if let cache {
            do {
                _ = try CacheSetting(parsing: cache)
            } catch {
                throw ValidationError("--cache: \(error.message)")
            }
        }
    }

    /// "0.5,0.5,0.5" as numbers (fewer than 3 when it is not 3 numbers: ``validate()`` refuses it).
    static func triple(_ text: String) -> [Float] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float(String($0.filter { $0 != " " })) }
        return values.count == 3 && values.allSatisfy({ $0 != nil }) ? values.map { $0! } : []
    }

    /// The sequence options these flags describe, sharded by the launcher's environment (or
    /// --rank/--world-size).
    var imageOptions: ImageBatchOptions {
        var o = ImageBatchOptions()
        o.batchSize = batchSize
        o.size = size
        o.crop = crop
        o.flip = flip
        o.noise = noise
        o.layout = layout
        o.dtype = dtype
        if normalize == .imagenet {
            o.mean = OutputFormat.imageNetMean
            o.std = OutputFormat.imageNetStd
        }
        if let mean { o.mean = Self.triple(mean) }
        if let std { o.std = Self.triple(std) }
        o.decode.maxPixels = maxPixels
        o.scaledDecode = scaledDecode
        o.shuffle = shuffle
        o.seed = seed
        o.dropLast = dropLast
        o.onError = onError
        o.decode.strict = strict
        o.cache = cache
        o.cacheMaxSide = cacheMaxSide
        o.autoAugment = autoAugment
        o.colorJitter = colorJitter
        o.grayscale = grayscale
        o.blur = blur
        o.erasing = erasing
        o.erasingValue = erasingValue
        o.mixup = mixup
        o.cutmix = cutmix
        o.mixProb = mixProb
        o.labelSmoothing = labelSmoothing
        var environment: [String: String] = [:]
        for key in ["RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"] {
            if let v = getenv(key) { environment[key] = String(cString: v) }
        }
        o.sharding = Sharding.fromEnvironment(environment, remainder: remainder)
        if let rank { o.sharding.rank = rank }
        if let worldSize { o.sharding.worldSize = worldSize }
        return o
    }

    /// The dataset: DIR's class folders, or the `--files` list.
    func makeDataset() throws(LoaderError) -> ImageFolder { try dataset.makeDataset() }

    func makeSequence() throws -> ImageBatchSequence {
        try ImageBatchSequence(folder: makeDataset(), options: imageOptions)
    }

    func makeLogger() -> Logger { output.makeLogger() }

    /// True when progress may be drawn: stderr is a terminal and nobody asked for quiet output.
    func showsProgress(json: Bool) -> Bool { output.showsProgress(json: json) }
}
