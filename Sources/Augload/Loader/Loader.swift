import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The bounded prefetch queue: batches from a sequence, made by spawned workers into shared
/// memory and handed to you in order, without a copy.
///
/// The loader dispatches one task per idle worker while a slot is free, reorders what comes back
/// so you see batch 0, 1, 2, … (or whatever is ready first, with `ordered: false`), and lends you
/// each batch in place; the slot is recycled when you release the batch. Workers persist across
/// epochs. A worker that dies is replaced and its batch done again; a batch that keeps killing
/// workers fails after `maxAttempts`. With `workers: 0` the same code runs on the calling thread.
///
///     let loader = try Loader(sequence, workers: 7, maxQueueSize: 10, epochs: 3)
///     while let batch = try loader.next() {
///         step(batch)
///     }
///     let resumeAt = loader.position      // save with a checkpoint; pass as `start:` later
///
/// Resume: `start: Position(epoch: e, batch: b)` yields exactly the remaining batches of an
/// uninterrupted run, whatever the worker count (the sequence's randomness depends only on seed,
/// epoch and sample).
public final class Loader: @unchecked Sendable {
    /// The worker count when none is given (the CLI's `--workers`, the Python client's
    /// `workers=None`): one per online core. Its one home.
    public static var defaultWorkers: Int { Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    /// The worker counts accepted (`workers` in ``OptionSchema``).
    public static let workerRange = 0...256
    /// The queue sizes accepted: at least 2, since a consumer still holds the batch it was given
    /// while it asks for the next (Python's zero-copy arrays, a `for` loop's variable), and with
    /// one slot nothing is made ahead (`queue` in ``OptionSchema``).
    public static let queueRange = 2...4096
    /// The queue size when none is given: its one home.
    public static let defaultQueue = 10

    /// The worker processes that run for `workers`: at most one per online core (more would only
    /// time-slice the same cores).
    public static func processes(forWorkers workers: Int) -> Int {
        Swift.min(workers, defaultWorkers)
    }

    /// Where a run is: the next batch to be delivered.
    public struct Position: Sendable, Hashable, Codable {
        /// The epoch of the next batch, counted from 0.
        public var epoch: Int
        /// The index, within `epoch`, of the next batch to be delivered.
        public var batch: Int
        /// Creates a position; the default is the start of epoch 0.
        public init(epoch: Int = 0, batch: Int = 0) {
            self.epoch = epoch
            self.batch = batch
        }
    }

    /// Figures the loader measured.
    public struct Statistics: Sendable {
        /// Worker processes the loader was created with (0: batches are made on the calling thread).
        public var workers = 0
        /// Workers that died and were replaced during the run.
        public var workerRestarts = 0
        /// Batches whose worker died while making them, and that were made again.
        public var retriedBatches = 0
        /// Files that could not be decoded and were replaced (`kind == .skipped`).
        public var skipped: [SkippedFile] = []
        /// Files decoded although libjpeg recovered from corrupt data in them (`kind == .warning`).
        public var warnings: [SkippedFile] = []
        /// Batches handed out so far.
        public var batchesDelivered = 0
        /// Images handed out so far (the sum of the delivered batches' first dimension).
        public var imagesDelivered = 0
        /// Seconds from creating the loader to the first batch handed out.
        public var timeToFirstBatch: Double?
        /// The peak, over the run (sampled every 100 ms), of the memory of the loader and its
        /// workers with shared pages counted once (see ``ProcessProbe/treeMemory(_:)``).
        public var peakMemoryBytes = 0
        /// What the sequence's decoded cache did (nil without one): hits, misses, bytes.
        public var cache: CacheStatistics?
    }

    let state: LoaderState
    let producer: Producer
    private let startTime: Double
    /// Reads the source's decoded-cache counters (shared memory; cheap).
    private let cacheProbe: () -> CacheStatistics?

    /// - Parameters:
    ///   - sequence: the batches. Must be ``BatchSource`` or `Codable` to run in workers.
    ///   - workers: worker processes (0: produce on the calling thread).
    ///   - maxQueueSize: slots, i.e. the most batches in flight, waiting or held at once.
    ///   - epochs: epochs to run, counted from `start.epoch`.
    ///   - start: resume position.
    ///   - ordered: deliver in order (default) or as soon as ready.
    ///   - maxAttempts: how many worker deaths one batch may cause before the run fails.
    /// - Throws: ``LoaderError`` for impossible options, a sequence that cannot cross to workers,
    ///   or a failure to create shared memory or processes.
    public convenience init<S: DataSequence>(
        _ sequence: S, workers: Int = 0, maxQueueSize: Int = Loader.defaultQueue, epochs: Int = 1, start: Position = Position(),
        ordered: Bool = true, maxAttempts: Int = 3, logger: Logger = Logger(label: "augload")
    ) throws(LoaderError) {
        let source: any BatchSource
        if let s = sequence as? any BatchSource {
            source = s
        } else if workers == 0 || sequence is any Codable {
            source = SequenceSource(sequence)
        } else {
            throw LoaderError(
                .sequence,
                "\(S.self) cannot run in worker processes: make it Codable (its state crosses to workers by name and encoding) or use workers: 0"
            )
        }
        try self.init(
            source: source, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs, start: start, ordered: ordered,
            maxAttempts: maxAttempts, logger: logger)
    }

    /// Creates a loader over a ``BatchSource`` directly.
    public convenience init(
        source: any BatchSource, workers: Int, maxQueueSize: Int = Loader.defaultQueue, epochs: Int = 1, start: Position = Position(),
        ordered: Bool = true, maxAttempts: Int = 3, logger: Logger = Logger(label: "augload")
    ) throws(LoaderError) {
        try self.init(
            source: source, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs, start: start, ordered: ordered,
            maxAttempts: maxAttempts, sharedSlots: false, logger: logger)
    }

    /// The designated initialiser; `sharedSlots` puts the slots in a memfd even in-process (serve
    /// hands that memfd to its client).
    init(
        source: any BatchSource, workers: Int, maxQueueSize: Int, epochs: Int, start: Position, ordered: Bool,
        maxAttempts: Int, sharedSlots: Bool, logger: Logger
    ) throws(LoaderError) {
        startTime = monotonicSeconds()
        cacheProbe = { [source] in source.cacheStatistics }
        try OptionSchema.spec("workers").check(Double(workers))
        try OptionSchema.spec("queue").check(Double(maxQueueSize))
        guard epochs >= 0, start.epoch >= 0, start.batch >= 0 else {
            throw LoaderError(.invalidOptions, "epochs and start position must not be negative")
        }
        guard maxAttempts >= 1 else { throw LoaderError(.invalidOptions, "maxAttempts must be at least 1, got \(maxAttempts)") }
        var firstCount = source.batchCount(epoch: start.epoch)
        guard start.batch <= firstCount else {
            throw LoaderError(
                .usage, "start batch \(start.batch) is past the end of epoch \(start.epoch) (\(firstCount) batches)")
        }
        // A position at the end of an epoch (what `position` says after its last batch) resumes at
        // the next epoch's first batch; empty epochs are skipped the same way.
        var start = start
        let endEpoch = start.epoch + epochs
        while start.batch >= firstCount && start.epoch < endEpoch {
            start = Position(epoch: start.epoch + 1, batch: 0)
            if start.epoch < endEpoch { firstCount = source.batchCount(epoch: start.epoch) }
        }
        let requirement: SlotRequirement
        do {
            requirement = try source.slotRequirement()
        } catch let error as LoaderError {
            throw error
        } catch {
            throw LoaderError(.sequence, "cannot size the batch slots: \(error)")
        }
        let slotCount = maxQueueSize
        let slots = try SharedSlots(layout: SlotLayout(requirement), count: slotCount, shared: workers > 0 || sharedSlots)
        let first = BatchKey(epoch: start.epoch, index: start.batch)
        state = LoaderState(
            slots: slots, buffer: ReorderBuffer(start: first, endEpoch: endEpoch, firstCount: firstCount, ordered: ordered))
        state.stats.workers = workers
        state.sharedMemory = [slots.fd, source.cacheDescriptor].filter { $0 >= 0 }
        let schedule = EpochSchedule(
            start: first, endEpoch: endEpoch, firstCount: firstCount, isEpochPure: source.isEpochPure)
        if workers == 0 {
            producer = InProcessProducer(source: source, state: state, schedule: schedule)
        } else {
            signal(SIGPIPE, SIG_IGN)
            producer = try Dispatcher(
                source: source, state: state, schedule: schedule, workers: workers, requirement: requirement,
                maxAttempts: maxAttempts, logger: logger)
        }
    }

    deinit { close() }

    /// The next batch, or `nil` at the end of the run.
    /// - Throws: ``LoaderError`` — a bad file under `.fail`, a batch that kept killing workers, a
    ///   sequence error, or all slots held by the caller with nothing left to make progress.
    public func next() throws(LoaderError) -> Batch? {
        try producer.prepareNext()
        let taken = try state.take()
        guard let (key, slot) = taken else { return nil }
        let base = state.slots.slot(slot)
        let header: (shape: [Int], dtype: DType, labels: Int, labelColumns: Int)
        do {
            header = try state.slots.layout.readHeader(at: base, epoch: key.epoch, index: key.index)
        } catch {
            // The batch cannot be handed out: the run fails here rather than skip it silently.
            state.fail(error)
            state.release(slot)
            self.producer.wake()
            throw error
        }
        let layout = state.slots.layout
        let state = self.state
        let producer = self.producer
        let batch = Batch(
            epoch: key.epoch, index: key.index, shape: header.shape, dtype: header.dtype,
            images: UnsafeRawBufferPointer(
                start: base + layout.imagesOffset, count: header.shape.reduce(1, *) * header.dtype.size),
            labels: UnsafeBufferPointer(
                start: (base + SlotLayout.headerBytes).assumingMemoryBound(to: Int32.self),
                count: header.labelColumns > 0 ? 0 : header.labels),
            softLabels: header.labelColumns > 0
                ? UnsafeBufferPointer(
                    start: (base + SlotLayout.headerBytes).assumingMemoryBound(to: Float.self),
                    count: header.labels * header.labelColumns) : nil,
            labelColumns: header.labelColumns,
            slot: slot,
            release: {
                state.release(slot)
                producer.wake()
            })
        state.mutex.withLock {
            state.stats.batchesDelivered += 1
            state.stats.imagesDelivered += header.shape.first ?? 0
            if state.stats.timeToFirstBatch == nil { state.stats.timeToFirstBatch = monotonicSeconds() - startTime }
        }
        return batch
    }

    /// The next batch to be delivered: save it to resume later (ordered mode).
    public var position: Position {
        state.mutex.withLock { Position(epoch: state.buffer.cursor.epoch, batch: state.buffer.cursor.index) }
    }

    /// The figures so far without sampling memory (cheap enough for every batch).
    var currentStatistics: Statistics { state.mutex.withLock { state.stats } }

    /// What the loader measured so far.
    public var statistics: Statistics {
        producer.sampleMemory()
        var stats = state.mutex.withLock { state.stats }
        stats.cache = cacheProbe()
        return stats
    }

    /// The decoded cache's counters right now (nil without a cache); cheaper than ``statistics``.
    public var cacheStatistics: CacheStatistics? { cacheProbe() }

    /// Ends the workers (their channels close; any still alive after a second are killed) and
    /// frees the slots once every lent batch is released. Called by `deinit`; safe to call twice.
    /// After it, ``next()`` hands out batches already finished, then throws ``LoaderError``
    /// (`.usage`, "the loader is closed") at once instead of waiting.
    public func close() {
        producer.shutdown()
        state.mutex.withLock {
            state.closed = true
            state.mutex.broadcast()
        }
    }
}

extension Loader {
    /// Batches in `epoch` (known once the loader has started that epoch; 0 before).
    public func batchCount(epoch: Int) -> Int { state.mutex.withLock { state.buffer.counts[epoch] ?? 0 } }

    /// The process ids of the live workers (empty in-process), for diagnostics.
    public var workerProcessIDs: [Int32] { producer.workerProcessIDs }

    /// Finished batches waiting to be taken right now.
    public var queuedBatches: Int { state.mutex.withLock { state.buffer.ready.count } }
}
