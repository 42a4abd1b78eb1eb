import FoundationEssentials

/// The client protocol's messages (`Serve/PROTOCOL.md`): JSON objects in length-prefixed frames.
///
/// Kept apart from the worker protocol (`Workers/Messages.swift`), which is internal and binary:
/// this one is read by another language and versioned by ``ClientProtocol/version``.
enum ClientProtocol {
    /// The protocol version the engine speaks (`hello.protocol` must equal it).
    static let version = 2

    /// Decodes snake_case keys (`batch_size`) into Swift names (`batchSize`).
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }()

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()
}

/// What every client's first frame holds, whatever its protocol: read before the rest, so a
/// mismatched client is refused by name instead of failing on a key it spells differently.
struct Greeting: Decodable {
    var `protocol`: Int
    /// The client package's release (absent from clients before 0.2.0).
    var version: String?

    /// Throws unless the client speaks this engine's protocol; the message names both sides.
    func check() throws(LoaderError) {
        guard `protocol` != ClientProtocol.version else { return }
        throw LoaderError(
            .protocolMismatch,
            "the augload client \(version ?? "before 0.2.0") speaks protocol \(`protocol`), but this engine "
                + "(augload \(EngineVersion.release)) speaks protocol \(ClientProtocol.version): install the same "
                + "version of both (the engine that comes with the Python package, or AUGLOAD_ENGINE set to a "
                + "matching `augload` binary)")
    }
}

/// The first frame of a client: what to load and how.
struct HelloMessage: Decodable {
    struct Dataset: Decodable {
        var folder: String?
        var files: [String]?
        /// Shard specs (brace patterns, folders of `.tar`, list files, URLs), read in order.
        var shards: [String]?
        /// The extension of the shards' label member (default `cls`).
        var label: String?
        var labels: [Int]?
        var classes: [String]?
    }

    var `protocol`: Int
    var options: ClientOptions?
    var dataset: Dataset
    var workers: Int?
    var queue: Int?
    /// Epochs to run; nil runs until the client closes.
    var epochs: Int?
    var start: Loader.Position?
}

/// The options of a `hello`, named as on the command line; every one optional (the CLI's defaults).
struct ClientOptions: Decodable {
    var batchSize: Int?
    var size: Int?
    var crop: String?
    var flip: String?
    var noise: Float?
    var layout: String?
    var dtype: String?
    var mean: [Float]?
    var std: [Float]?
    var seed: UInt64?
    var shuffle: Bool?
    var onError: String?
    var strict: Bool?
    var dropLast: Bool?
    var maxPixels: Int?
    var rank: Int?
    var worldSize: Int?
    var remainder: String?
    var cache: String?
    var cacheMaxSide: Int?
    var autoAugment: String?
    var colorJitter: String?
    var grayscale: Double?
    var blur: String?
    var erasing: Double?
    var erasingValue: String?
    var mixup: Double?
    var cutmix: Double?
    var mixProb: Double?
    var labelSmoothing: Double?

    /// The sequence options these describe, validated.
    /// - Throws: ``LoaderError`` (`.invalidOptions`) naming the option and the allowed values.
    func imageOptions() throws(LoaderError) -> ImageBatchOptions {
        var o = ImageBatchOptions()
        o.batchSize = batchSize ?? o.batchSize
        o.size = size ?? o.size
        o.crop = try Self.choice("crop", crop, default: o.crop)
        o.flip = try Self.choice("flip", flip, default: o.flip)
        o.noise = noise ?? o.noise
        o.layout = try Self.choice("layout", layout, default: o.layout)
        o.dtype = try Self.choice("dtype", dtype, default: o.dtype)
        o.mean = mean ?? o.mean
        o.std = std ?? o.std
        o.seed = seed ?? o.seed
        o.shuffle = shuffle ?? o.shuffle
        o.onError = try Self.choice("on_error", onError, default: o.onError)
        o.dropLast = dropLast ?? o.dropLast
        o.cache = cache ?? o.cache
        o.cacheMaxSide = cacheMaxSide ?? o.cacheMaxSide
        o.autoAugment = autoAugment ?? o.autoAugment
        o.colorJitter = colorJitter ?? o.colorJitter
        o.grayscale = grayscale ?? o.grayscale
        o.blur = blur ?? o.blur
        o.erasing = erasing ?? o.erasing
        o.erasingValue = erasingValue ?? o.erasingValue
        o.mixup = mixup ?? o.mixup
        o.cutmix = cutmix ?? o.cutmix
        o.mixProb = mixProb ?? o.mixProb
        o.labelSmoothing = labelSmoothing ?? o.labelSmoothing
        o.decode.strict = strict ?? o.decode.strict
        o.decode.maxPixels = maxPixels ?? o.decode.maxPixels
        o.sharding = Sharding(
            rank: rank ?? 0, worldSize: worldSize ?? 1,
            remainder: try Self.choice("remainder", remainder, default: Sharding.Remainder.pad))
        try o.validate()
        return o
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ value: String?, default fallback: T)
        throws(LoaderError) -> T where T.RawValue == String
    {
        guard let value else { return fallback }
        guard let parsed = T(rawValue: value) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw LoaderError(.invalidOptions, "\(name) must be one of \(allowed); got '\(value)'")
        }
        return parsed
    }
}

/// What a client sends after its hello.
struct ClientRequest: Decodable {
    var type: String
    var generation: Int?
    var slots: [Int]?
    var epoch: Int?
    var batch: Int?
}

/// What the engine sends. One struct, the keys of each `type` filled (nil keys are left out).
struct EngineMessage: Encodable {
    struct Skipped: Encodable {
        var path: String
        var error: String
        var kind: String
    }

    var type: String
    var `protocol`: Int?
    /// The engine's release (`ready`).
    var version: String?
    /// The pixel kernels the engine runs, `avx2` or `portable` (`ready`).
    var kernels: String?
    var enginePid: Int?
    var classes: [String]?
    /// What reading the dataset noticed without failing (`ready`): shard samples without an image, damaged headers skipped.
    var notes: [String]?
    var samples: Int?
    var batchesPerEpoch: Int?
    var workers: Int?
    var generation: Int?
    var slots: Int?
    var slotBytes: Int?
    var start: Loader.Position?
    var slot: Int?
    var epoch: Int?
    var index: Int?
    var skipped: [Skipped]?
    var workerRestarts: Int?
    /// The decoded cache's counters so far (with a cache).
    var cache: CacheStatistics?
    var code: String?
    var message: String?
    var path: String?
    var decodeCode: String?

    init(type: String) { self.type = type }

    static func error(_ e: LoaderError, generation: Int?) -> EngineMessage {
        var m = EngineMessage(type: "error")
        m.generation = generation
        m.code = e.code.rawValue
        m.message = e.message
        m.path = e.path
        m.decodeCode = e.decodeCode?.rawValue
        return m
    }
}
