/// How the loader talks to what makes batches, in the loader process and in workers.
///
/// Why a second protocol: a worker must not receive the whole dataset (Python pickles it into every
/// worker). A `BatchSource` splits a sequence into a *configuration* sent once per worker (and
/// again only when ``epochDidEnd(_:)`` says it changed) and a small *order* per batch — for images,
/// the paths and labels of that batch alone — so a worker's memory does not grow with the dataset.
/// ``ImageBatchSequence`` implements it directly; any `Codable` ``DataSequence`` is adapted by
/// ``SequenceSource`` (its order is just the index).
public protocol BatchSource {
    /// Batches in `epoch`.
    func batchCount(epoch: Int) -> Int

    /// The largest batch this source writes, so the loader can size its shared-memory slots.
    func slotRequirement() throws -> SlotRequirement

    /// The order for one batch: everything a worker needs beyond the configuration.
    func order(epoch: Int, index: Int) throws -> [UInt8]

    /// Names the inputs of an order, for error messages ("batch 3 of epoch 0: a.jpg, b.jpg").
    func describe(order: [UInt8]) -> String

    /// Builds the batch for `order` into `writer`. Returns the files it had to replace.
    mutating func fill(order: [UInt8], epoch: Int, index: Int, into writer: inout BatchWriter) throws -> [SkippedFile]

    /// The state a worker needs, encoded.
    func configuration() throws -> [UInt8]

    /// Recreates a source from ``configuration()`` (in a worker).
    init(configuration: [UInt8]) throws

    /// Called in the loader process once every batch of `epoch` has been produced. Returns `true`
    /// when ``configuration()`` changed, so workers must receive it before the next epoch.
    mutating func epochDidEnd(_ epoch: Int) -> Bool

    /// True when batches of the next epoch may be made before this epoch's end (the source's
    /// output depends only on the epoch it is given). Default: false — the loader then waits for an
    /// epoch to finish, calls ``epochDidEnd(_:)`` and re-sends the configuration first.
    var isEpochPure: Bool { get }

    /// The shared memory of the source's decoded cache, which the loader passes to every worker
    /// (as fd ``WorkerFD/cache``), or -1 when there is none.
    var cacheDescriptor: Int32 { get }

    /// What the source's decoded cache has done so far (read from its shared memory), or nil.
    var cacheStatistics: CacheStatistics? { get }
}

extension BatchSource {
    /// Default: `false`, so the loader finishes each epoch before starting the next.
    public var isEpochPure: Bool { false }

    /// Default: -1, no decoded cache.
    public var cacheDescriptor: Int32 { -1 }

    /// Default: nil, no decoded cache.
    public var cacheStatistics: CacheStatistics? { nil }
}

/// How much room a batch needs in a slot.
public struct SlotRequirement: Sendable, Hashable {
    /// Bytes of image data a slot must hold.
    public var imageBytes: Int
    /// Labels (one per image) a slot must hold.
    public var labels: Int
    /// Classes per label when labels are float32 soft targets (MixUp, CutMix, label smoothing);
    /// 0 for int32 class indices.
    public var labelColumns: Int
    /// Creates a requirement of `imageBytes` bytes of images and `labels` labels, each a class
    /// index, or a row of `labelColumns` float32 targets.
    public init(imageBytes: Int, labels: Int, labelColumns: Int = 0) {
        self.imageBytes = imageBytes
        self.labels = labels
        self.labelColumns = labelColumns
    }
}

/// Adapts a ``DataSequence`` to the loader: its order is the batch index and
/// ``DataSequence/onEpochEnd()`` runs in the loader process. When the sequence is `Codable`, its
/// configuration is its JSON encoding, re-sent to workers after each epoch's hook — so it runs in
/// workers; otherwise it can only run in-process (`workers: 0`).
public struct SequenceSource<S: DataSequence>: BatchSource {
    /// The adapted sequence (its state is re-sent to workers after each epoch).
    public var sequence: S

    /// Wraps `sequence`.
    public init(_ sequence: S) { self.sequence = sequence }

    /// The sequence's `count`, whatever the epoch.
    public func batchCount(epoch: Int) -> Int { sequence.count }

    /// Sized from the first batch: a sequence's batches must not grow after it.
    public func slotRequirement() throws -> SlotRequirement {
        guard sequence.count > 0 else { return SlotRequirement(imageBytes: 0, labels: 0) }
        let first = try sequence.batch(at: 0)
        return SlotRequirement(
            imageBytes: first.images.count, labels: first.softLabels == nil ? first.labels.count : first.count,
            labelColumns: first.labelColumns)
    }

    /// The order of a batch: just `index`, encoded.
    public func order(epoch: Int, index: Int) throws -> [UInt8] {
        var w = WireWriter()
        w.int(index)
        return w.bytes
    }

    /// Names the sequence type and the batch index of `order`.
    public func describe(order: [UInt8]) -> String {
        var r = WireReader(order)
        return "\(S.self) batch \((try? r.int()) ?? -1)"
    }

    /// Copies the sequence's batch at the order's index into `writer`; never skips files.
    public mutating func fill(order: [UInt8], epoch: Int, index: Int, into writer: inout BatchWriter) throws -> [SkippedFile] {
        var r = WireReader(order)
        try writer.copy(try sequence.batch(at: try r.int()))
        return []
    }

    /// The sequence's JSON encoding; throws ``LoaderError`` (`.sequence`) when it is not `Encodable`.
    public func configuration() throws -> [UInt8] {
        guard let encodable = sequence as? any Encodable else { throw SequenceSource.cannotCross }
        return try TypeCodec.encodeJSON(encodable)
    }

    /// Decodes the sequence from its JSON ``configuration()`` (in a worker).
    public init(configuration: [UInt8]) throws {
        guard let decodable = S.self as? any Decodable.Type else { throw SequenceSource.cannotCross }
        guard let sequence = try TypeCodec.decodeJSON(decodable, configuration) as? S else { throw SequenceSource.cannotCross }
        self.sequence = sequence
    }

    /// Calls the sequence's ``DataSequence/onEpochEnd()`` and returns `true`, so workers receive the new state.
    public mutating func epochDidEnd(_ epoch: Int) -> Bool {
        sequence.onEpochEnd()
        return true
    }

    static var cannotCross: LoaderError {
        LoaderError(.sequence, "\(S.self) cannot run in worker processes: make it Codable, or use workers: 0")
    }
}
