/// The built-in sequence: an ``ImageFolder`` turned into augmented, labelled batches.
///
/// Each epoch the samples are shuffled by a permutation that is a pure function of
/// `(seed, epoch)`, dealt to this rank (see ``Sharding``), and cut into batches of
/// `batchSize` (the last one partial unless `dropLast`). Every image is decoded and augmented with
/// randomness keyed by `(seed, epoch, sample index)`, straight into the batch's memory — so the
/// bytes of batch *i* are the same in-process, in one worker or in seven.
///
///     var options = ImageBatchOptions()
///     options.batchSize = 32
///     options.crop = .resized
///     let sequence = try ImageBatchSequence(folder: ImageFolder(root: "data/train"), options: options)
///     let batch = try sequence.batch(at: 0)     // in-process; use a Loader for workers
public struct ImageBatchSequence: DataSequence, BatchSource, @unchecked Sendable {
    /// The dataset the batches are made from.
    public let folder: ImageFolder
    /// The validated options the batches are made with.
    public let options: ImageBatchOptions
    /// The epoch ``batch(at:)`` produces; ``onEpochEnd()`` advances it.
    public var epoch = 0

    let pipeline: Pipeline
    private var workspace = Pipeline.Workspace()
    /// The decoded cache when ``ImageBatchOptions/cache`` is set: created with the sequence in the
    /// loader process, attached to in workers; copies of the sequence share it.
    public let cache: DecodedCache?
    private var cacheScratch = DecodedCache.Scratch()
    /// One image's floats, for the batch mix's roll.
    private var mixScratch: [Float] = []
    /// The last epoch's sample order: a batch order needs it, and recomputing a million-sample
    /// shuffle for every batch would cost more than the batch.
    private let orderCache = OrderCache()
    /// Replacement candidates an order carries for `.skip`.
    static let replacementCandidates = 4

    /// - Throws: ``LoaderError`` (`.invalidOptions`) for invalid options.
    public init(folder: ImageFolder, options: ImageBatchOptions = .init()) throws(LoaderError) {
        try self.init(folder: folder, options: options) { setting, pipeline throws(LoaderError) in
            try DecodedCache(setting: setting, pipeline: pipeline, samples: folder.samples.count)
        }
    }

    /// A worker's copy: the cache, if any, is the one the loader shares as fd ``WorkerFD/cache``.
    private init(workerFolder folder: ImageFolder, options: ImageBatchOptions) throws(LoaderError) {
        try self.init(folder: folder, options: options) { setting, pipeline throws(LoaderError) in
            try DecodedCache.attachedInWorker(setting: setting, pipeline: pipeline)
        }
    }

    /// Validates the options and builds the pipeline; `openCache` makes or attaches the cache.
    private init(
        folder: ImageFolder, options: ImageBatchOptions,
        openCache: (CacheSetting, Pipeline) throws(LoaderError) -> DecodedCache
    ) throws(LoaderError) {
        try options.validate()
        if let damage = folder.damage.first, options.onError == .fail {
            throw LoaderError(
                .badFile, "\(damage) (with on-error skip the samples around it are read and the damage reported)",
                path: folder.root)
        }
        self.folder = folder
        self.options = options
        let pipeline = options.pipeline
        self.pipeline = pipeline
        cache = try options.cacheSetting.map { setting throws(LoaderError) in try openCache(setting, pipeline) }
    }

    /// Samples this rank sees per epoch.
    public var samplesPerEpoch: Int { options.sharding.count(of: folder.samples.count) }

    /// Batches in the current ``epoch``.
    public var count: Int { batchCount(epoch: epoch) }

    /// Batches in `epoch`: this rank's samples divided by `batchSize`, rounded up unless `dropLast`.
    public func batchCount(epoch: Int) -> Int {
        let n = samplesPerEpoch
        return options.dropLast ? n / options.batchSize : (n + options.batchSize - 1) / options.batchSize
    }

    /// The dataset indices of this rank's samples in `epoch`, in order.
    public func sampleOrder(epoch: Int) -> [Int] {
        let total = folder.samples.count
        var order = Array(0..<total)
        if options.shuffle {
            var random = SampleRandom(seed: options.seed, epoch: epoch, sample: -1, stream: RandomStream.shuffle)
            order.shuffle(using: &random)
        }
        return options.sharding.share(of: order)
    }

    /// Builds batch `index` of the current ``epoch`` in process, in new memory freed when the batch is released.
    public func batch(at index: Int) throws -> Batch {
        var copy = self
        let order = try copy.order(epoch: epoch, index: index)
        // Fixed-size batches know their size; with size 0 only this batch's own files matter.
        let requirement =
            options.size > 0
            ? try slotRequirement()
            : try Self.requirement(for: try Order(order).samples.map(\.path), options: options, classes: folder.classes.count)
        let layout = SlotLayout(requirement)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: layout.slotSize, alignment: 4096)
        var writer = layout.writer(at: memory)
        do {
            _ = try copy.fill(order: order, epoch: epoch, index: index, into: &writer)
        } catch {
            memory.deallocate()
            throw error
        }
        let box = MemoryBox(memory)
        let soft = writer.labelColumns > 0
        return Batch(
            epoch: epoch, index: index, shape: writer.shape, dtype: writer.dtype,
            images: UnsafeRawBufferPointer(
                start: writer.images.baseAddress, count: writer.shape.reduce(1, *) * writer.dtype.size),
            labels: UnsafeBufferPointer(start: writer.labels.baseAddress, count: soft ? 0 : writer.labelCount),
            softLabels: soft
                ? UnsafeBufferPointer(start: writer.softLabels.baseAddress, count: writer.labelCount * writer.labelColumns) : nil,
            labelColumns: writer.labelColumns,
            release: { box.free() })
    }

    /// Advances ``epoch`` by one.
    public mutating func onEpochEnd() { epoch += 1 }

    // MARK: BatchSource

    /// Slots hold `batchSize` images of `size × size`. With size 0 (each image's own size, batch
    /// size 1) the largest declared image of the dataset decides, which reads every file's header
    /// once: meant for exporting what the decoder sees, not for training-scale datasets.
    public func slotRequirement() throws -> SlotRequirement {
        try Self.requirement(
            for: options.size > 0 ? [] : folder.samples.map(\.locator), options: options, classes: folder.classes.count)
    }

    /// Room for `batchSize` images of `size × size`, or with size 0 of the largest declared image
    /// among `paths` (unreadable files are skipped here: they fail properly when decoded); and for
    /// a label each, or a row of `classes` targets when labels are soft.
    static func requirement(for paths: [String], options: ImageBatchOptions, classes: Int) throws -> SlotRequirement {
        var pixels = options.size * options.size
        var file = FileBytes()
        for path in paths {
            guard (try? file.read(path: path)) != nil, let header = try? ImageDecoder.header(file.bytes, options: options.decode)
            else { continue }
            pixels = max(pixels, header.width * header.height)
        }
        return SlotRequirement(
            imageBytes: options.batchSize * max(pixels, 1) * 3 * options.dtype.size, labels: options.batchSize,
            labelColumns: options.softLabels ? classes : 0)
    }

    /// The order of batch `index` of `epoch`: its samples' indices, labels and paths, plus
    /// replacement candidates under `.skip`; throws ``LoaderError`` (`.usage`) for an index out of range.
    public func order(epoch: Int, index: Int) throws -> [UInt8] {
        let count = batchCount(epoch: epoch)
        guard (0..<count).contains(index) else {
            throw LoaderError(.usage, "batch \(index) is out of range: epoch \(epoch) has \(count) batches")
        }
        let positions = orderCache.order(epoch: epoch) { sampleOrder(epoch: $0) }
        let start = index * options.batchSize
        let end = min(start + options.batchSize, positions.count)
        var w = WireWriter()
        w.int(end - start)
        for i in positions[start..<end] {
            w.int(i)
            w.int(Int(folder.samples[i].label))
            w.string(folder.samples[i].locator)
        }
        var candidates: [Int] = []
        if options.onError == .skip {
            var random = SampleRandom(seed: options.seed, epoch: epoch, sample: index, stream: RandomStream.replacement)
            for _ in 0..<ImageBatchSequence.replacementCandidates {
                candidates.append(positions[random.nextInt(below: positions.count)])
            }
        }
        w.int(candidates.count)
        for i in candidates {
            w.int(Int(folder.samples[i].label))
            w.string(folder.samples[i].locator)
        }
        return w.bytes
    }

    struct Order {
        var samples: [(index: Int, label: Int32, path: String)] = []
        var replacements: [(label: Int32, path: String)] = []

        init(_ bytes: [UInt8]) throws(LoaderError) {
            var r = WireReader(bytes)
            let n = try r.int()
            for _ in 0..<n { samples.append((try r.int(), Int32(try r.int()), try r.string())) }
            let m = try r.int()
            for _ in 0..<m { replacements.append((Int32(try r.int()), try r.string())) }
        }
    }

    /// The paths of the samples in `order`, comma-separated.
    public func describe(order: [UInt8]) -> String {
        guard let o = try? Order(order) else { return "(unreadable order)" }
        return o.samples.map { Locator.display($0.path) }.joined(separator: ", ")
    }

    /// Decodes and augments the order's samples into `writer`, replacing undecodable files under
    /// `.skip`; returns the files skipped or decoded with warnings.
    public mutating func fill(order bytes: [UInt8], epoch: Int, index: Int, into writer: inout BatchWriter) throws
        -> [SkippedFile]
    {
        let order = try Order(bytes)
        let side = options.size
        var skipped: [SkippedFile] = []
        var produced = (width: side, height: side)
        let base = writer.images.baseAddress!
        for (k, sample) in order.samples.enumerated() {
            let imageBytes = side * side * 3 * options.dtype.size
            let destination = base + k * imageBytes
            var label = sample.label
            switch attempt(sample.path, epoch: epoch, sample: sample.index, into: destination, side: side) {
            case .success(let size):
                produced = size
                let w = workspace.lastWarnings
                if w.count > 0 {
                    skipped.append(
                        SkippedFile(path: Locator.reported(sample.path), error: Verdict.warnings(w).reason, kind: .warning))
                }
            case .failure(let error):
                guard options.onError == .skip else {
                    throw LoaderError(.badFile, error.description, path: Locator.reported(sample.path), decodeCode: error.code)
                }
                skipped.append(SkippedFile(path: Locator.reported(sample.path), error: error.message))
                var replaced = false
                for candidate in order.replacements where candidate.path != sample.path {
                    switch attempt(candidate.path, epoch: epoch, sample: sample.index, into: destination, side: side) {
                    case .success(let size):
                        produced = size
                        label = candidate.label
                        replaced = true
                    case .failure(let again):
                        skipped.append(SkippedFile(path: Locator.reported(candidate.path), error: again.message))
                    }
                    if replaced { break }
                }
                if !replaced {
                    throw LoaderError(
                        .badFile,
                        "\(error.description) (and none of its \(order.replacements.count) replacement candidates could be decoded)",
                        path: Locator.reported(sample.path), decodeCode: error.code)
                }
            }
            writer.labels[k] = label
        }
        let n = order.samples.count
        let shape = pipeline.output.shape(count: n, width: produced.width, height: produced.height)
        if options.softLabels {
            try mix(&writer, count: n, epoch: epoch, index: index)
            try writer.finish(shape: shape, dtype: options.dtype, labelCount: n, labelColumns: folder.classes.count)
        } else {
            try writer.finish(shape: shape, dtype: options.dtype, labelCount: n)
        }
        return skipped
    }

    /// The batch's mix (``BatchMix``, drawn from seed, epoch and batch index), applied to its
    /// images; its class indices become float32 targets in the same label area.
    private mutating func mix(_ writer: inout BatchWriter, count n: Int, epoch: Int, index: Int) throws(LoaderError) {
        let classes = folder.classes.count
        guard writer.softLabels.count >= n * classes else {
            throw LoaderError(.sequence, "a slot laid out for \(writer.columnCapacity) classes, the dataset has \(classes)")
        }
        let draw = batchMix(epoch: epoch, index: index)
        draw.apply(
            to: writer.images.baseAddress!.assumingMemoryBound(to: Float.self), count: n, width: options.size,
            height: options.size, channelsFirst: options.layout == .nchw, scratch: &mixScratch)
        let indices = Array(writer.labels.prefix(n))  // read out before the targets overwrite them
        draw.targets(labels: indices, classes: classes, smoothing: options.labelSmoothing, into: writer.softLabels)
    }

    /// What ``BatchMix`` draws for batch `index` of `epoch` (unmixed when MixUp and CutMix are off).
    public func batchMix(epoch: Int, index: Int) -> BatchMix {
        var random = SampleRandom(seed: options.seed, epoch: epoch, sample: index, stream: RandomStream.mix)
        return BatchMix.draw(
            mixup: options.mixup, cutmix: options.cutmix, probability: options.mixProb, random: &random,
            width: options.size, height: options.size)
    }

    /// Decodes and augments one file with the randomness of `sample` (a replacement keeps the
    /// randomness of the sample it replaces).
    private mutating func attempt(
        _ path: String, epoch: Int, sample: Int, into destination: UnsafeMutableRawPointer, side: Int
    ) -> Result<(width: Int, height: Int), DecodeError> {
        var random = SampleRandom(seed: options.seed, epoch: epoch, sample: sample, stream: RandomStream.augment)
        do throws(DecodeError) {
            if let cache {
                return .success(
                    try cache.run(
                        pipeline, path: path, random: &random, workspace: &workspace, scratch: &cacheScratch,
                        into: destination, width: side > 0 ? side : nil, height: side > 0 ? side : nil))
            }
            return .success(
                try pipeline.run(
                    path: path, random: &random, workspace: &workspace, into: destination, width: side > 0 ? side : nil,
                    height: side > 0 ? side : nil))
        } catch {
            return .failure(error)
        }
    }

    /// The configuration crossing to workers: the options and class names, never the file list.
    public func configuration() throws -> [UInt8] {
        try TypeCodec.encodeJSON(Configuration(options: options, root: folder.root, classes: folder.classes))
    }

    /// Recreates the sequence from ``configuration()`` in a worker, with an empty sample list (orders carry the paths).
    public init(configuration: [UInt8]) throws {
        let c = try TypeCodec.decodeJSON(Configuration.self, configuration)
        try self.init(workerFolder: ImageFolder(root: c.root, classes: c.classes, samples: []), options: c.options)
    }

    /// The decoded cache's shared memory, for the workers (-1 without a cache).
    public var cacheDescriptor: Int32 { cache?.fileDescriptor ?? -1 }

    /// What the decoded cache has done so far (nil without a cache).
    public var cacheStatistics: CacheStatistics? { cache?.statistics }

    /// Returns `false`: the configuration never changes between epochs.
    public mutating func epochDidEnd(_ epoch: Int) -> Bool { false }

    /// Batches depend only on the epoch they are asked for, so workers run ahead across epochs.
    public var isEpochPure: Bool { true }

    struct Configuration: Codable {
        var options: ImageBatchOptions
        var root: String
        var classes: [String]
    }
}

/// Remembers one epoch's sample order (a reference, so non-mutating callers can fill it; the
/// loader asks for orders from one thread at a time).
final class OrderCache: @unchecked Sendable {
    private let lock = Mutex()
    private var epoch: Int?
    private var positions: [Int] = []

    func order(epoch: Int, compute: (Int) -> [Int]) -> [Int] {
        lock.withLock {
            if self.epoch != epoch {
                positions = compute(epoch)
                self.epoch = epoch
            }
            return positions
        }
    }
}

/// Owns the memory of a batch built outside any loader.
final class MemoryBox: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    func free() { pointer.deallocate() }
}
