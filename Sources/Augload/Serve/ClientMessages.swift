import FoundationEssentials

/// The client protocol's messages (`Serve/PROTOCOL.md`): JSON objects in length-prefixed frames.
///
/// Kept apart from the worker protocol (`Workers/Messages.swift`), which is internal and binary:
/// this one is read by another language and versioned by ``ClientProtocol/version``.
enum ClientProtocol {
    /// The protocol version the engine speaks (`hello.protocol` must equal it).
    static let version = 2

    /// Decodes the client's frames: their keys are single words, and `hello.options` is
    /// ``ImageBatchOptions``' own coding (``OptionSchema``'s snake_case names), so no key strategy.
    static let decoder = JSONDecoder()

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
    /// The options, by ``OptionSchema``'s names; missing keys keep their defaults.
    var options: ImageBatchOptions?
    var dataset: Dataset
    var workers: Int?
    var queue: Int?
    /// Epochs to run; nil runs until the client closes.
    var epochs: Int?
    var start: Loader.Position?
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
