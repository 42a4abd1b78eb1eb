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
    @Option(
        help: "Worker processes; at most one per core runs (0 = everything on the calling thread). Default: the number of cores.")
    var workers: Int = Loader.defaultWorkers

}

/// The options every command shares (docs/cli.md).
struct SharedOptions: ParsableArguments {
    @OptionGroup var dataset: DatasetOptions

    @Option(help: "Images per batch.")
    var batchSize: Int = 64

    @Option(help: "Output side in pixels (0 = each image's own size; needs --batch-size 1).")
    var size: Int = 224

    @Option(help: "Epochs to run.")
    var epochs: Int = 1

    @Option(help: "Most batches in flight, waiting or held at once (the prefetch queue).")
    var queue: Int = 10

    @Option(help: "Seed of every random choice (shuffle, crops, flips, noise).")
    var seed: UInt64 = 0

    @Option(help: "Mirror with probability 0.5: \(FlipMode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var flip: FlipMode = .h

    @Option(
        help:
            "Crop: \(CropMode.allCases.map(\.rawValue).joined(separator: ", ")) (random/center resize the shorter side to size*8/7 first)."
    )
    var crop: CropMode = .random

    @Option(help: "Gaussian noise sigma in [0, 1] intensity units (0 = off).")
    var noise: Float = 0

    @Option(help: "Batch layout: nhwc or nchw.")
    var layout: Layout = .nhwc

    @Option(help: "Element type: uint8 or float32 ([0, 1], then normalised).")
    var dtype: DType = .float32

    @Option(help: "Normalisation for float32: none or imagenet (torchvision's mean/std).")
    var normalize: Normalization = .none

    @Flag(inversion: .prefixedNo, help: "Shuffle each epoch (a pure function of seed and epoch).")
    var shuffle = true

    @Option(name: .customLong("on-error"), help: "Undecodable file: fail (exit 1 naming it) or skip (replace and report).")
    var onError: ErrorPolicy = .fail

    @Option(help: "Stop after this many batches in total.")
    var maxBatches: Int?

    @Flag(help: "Drop the last batch of an epoch when it is not full.")
    var dropLast = false

    @Option(
        help:
            "When RANK/WORLD_SIZE shard the data and the world size does not divide it: pad (repeat samples, as DistributedSampler), drop, or uneven."
    )
    var remainder: Sharding.Remainder = .pad

    @Option(
        help: ArgumentHelp(
            "Decoded cache: ram, ram:SIZE (like ram:8G), a folder, or DIR:SIZE. Later epochs start from each image's stored deterministic prefix (decode, resize) instead of its file; the batches are the same bytes.",
            discussion:
                "ram: one copy shared by all workers, bounded by SIZE (default: half of the available memory); what does not fit is decoded as without a cache. A folder persists across runs and is reused only for the same files (size, mtime, ctime, inode), pipeline prefix and library version; DIR:SIZE stops writing entries when the folder's entry files would pass SIZE (end a folder named like x:1G with a /).",
            valueName: "ram[:SIZE]|DIR[:SIZE]"))
    var cache: String?

    @Option(
        help: ArgumentHelp(
            "Bound each decoded image's longer side to N pixels before the pipeline (FFCV's bounded resolution), so a decoded cache of large photos fits.",
            discussion:
                "Defines the output with or without --cache: a larger image is first resized (antialiased) so its longer side is N, and the crop and resize run on that. Smaller images are untouched.",
            valueName: "N"))
    var cacheMaxSide: Int?

    @Flag(help: "Treat libjpeg warnings (corrupt data it recovered from) as errors.")
    var strict = false

    @Option(
        help: ArgumentHelp(
            "torchvision's policy per sample: trivialaugment, randaugment[:NUM_OPS[:MAGNITUDE]] (2, 9) or autoaugment (ImageNet).",
            valueName: "POLICY"))
    var autoAugment: String?

    @Option(
        help: ArgumentHelp("ColorJitter: B (brightness, contrast and saturation), B,C,S or B,C,S,H.", valueName: "B[,C,S[,H]]"))
    var colorJitter: String?

    @Option(help: "RandomGrayscale: the chance a sample becomes gray (0 = off).")
    var grayscale: Double = 0

    @Option(
        help: ArgumentHelp("GaussianBlur: odd kernel side K, sigma drawn in SMIN...SMAX (0.1...2.0).", valueName: "K[,SMIN,SMAX]")
    )
    var blur: String?

    @Option(help: "RandomErasing after normalisation: the chance a sample gets an erased box (0 = off).")
    var erasing: Double = 0

    @Option(
        help: ArgumentHelp("What an erased box holds: 0 or random (standard normal values; float32 only).", valueName: "0|random")
    )
    var erasingValue: String = "0"

    @Option(
        help: ArgumentHelp(
            "MixUp with lambda ~ Beta(ALPHA, ALPHA) (torchvision's v2.MixUp; 0 = off): labels become float32 targets.",
            valueName: "ALPHA"))
    var mixup: Double = 0

    @Option(
        help: ArgumentHelp(
            "CutMix with lambda ~ Beta(ALPHA, ALPHA) (v2.CutMix; 0 = off). With --mixup too, each batch gets one, 50/50.",
            valueName: "ALPHA"))
    var cutmix: Double = 0

    @Option(help: "The chance a batch is mixed at all (with --mixup or --cutmix).")
    var mixProb: Double = 1

    @Option(help: "Soft targets 1-EPS+EPS/C on the class and EPS/C elsewhere (0 = off): labels become float32 targets.")
    var labelSmoothing: Double = 0

    @OptionGroup var output: OutputOptions

    /// Checks what only the command line has; the sequence and loader options are checked once,
    /// by ``ImageBatchOptions/validate()`` and `Loader.init`, whose `.invalidOptions` errors exit 2.
    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if let maxBatches, maxBatches < 1 { throw ValidationError("--max-batches must be at least 1, got \(maxBatches)") }
        if let cache {
            do {
                _ = try CacheSetting(parsing: cache)
            } catch {
                throw ValidationError("--cache: \(error.message)")
            }
        }
    }

    /// The sequence options these flags describe, sharded by the launcher's environment.
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
        o.shuffle = shuffle
        o.seed = seed
        o.dropLast = dropLast
        o.onError = onError
        o.decode = DecodeOptions(strict: strict)
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
