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
        _ sequence: S, workers: Int = 0, maxQueueSize: Int = 10, epochs: Int = 1, start: Position = Position(),
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
    public init(
        source: any BatchSource, workers: Int, maxQueueSize: Int = 10, epochs: Int = 1, start: Position = Position(),
        ordered: Bool = true, maxAttempts: Int = 3, logger: Logger = Logger(label: "augload")
    ) throws(LoaderError) {
        startTime = monotonicSeconds()
        cacheProbe = { [source] in source.cacheStatistics }
        guard workers >= 0 && workers <= 256 else { throw LoaderError(.usage, "workers must be in 0...256, got \(workers)") }
        guard maxQueueSize >= 1 && maxQueueSize <= 4096 else {
            throw LoaderError(.usage, "maxQueueSize must be in 1...4096, got \(maxQueueSize)")
        }
        guard epochs >= 0, start.epoch >= 0, start.batch >= 0 else {
            throw LoaderError(.usage, "epochs and start position must not be negative")
        }
        guard maxAttempts >= 1 else { throw LoaderError(.usage, "maxAttempts must be at least 1, got \(maxAttempts)") }
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
        let slots = try SharedSlots(layout: SlotLayout(requirement), count: slotCount, shared: workers > 0)
        state = LoaderState(
            slots: slots, start: start, endEpoch: endEpoch, ordered: ordered, firstCount: firstCount)
        state.stats.workers = workers
        if workers == 0 {
            producer = InProcessProducer(source: source, state: state)
        } else {
            signal(SIGPIPE, SIG_IGN)
            producer = try Dispatcher(
                source: source, state: state, workers: workers, requirement: requirement, maxAttempts: maxAttempts,
                logger: logger)
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
        let header: (shape: [Int], dtype: DType, labels: Int)
        do {
            header = try state.slots.layout.readHeader(at: base, epoch: key.epoch, index: key.index)
        } catch {
            // The batch cannot be handed out: the run fails here rather than skip it silently.
            let shared = self.state
            shared.mutex.withLock { if shared.failure == nil { shared.failure = error } }
            shared.release(slot)
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
                start: (base + SlotLayout.headerBytes).assumingMemoryBound(to: Int32.self), count: header.labels),
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
    public var position: Position { state.mutex.withLock { Position(epoch: state.cursor.epoch, batch: state.cursor.index) } }

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
    public func close() { producer.shutdown() }
}

/// Produces batches into slots: worker processes or the calling thread.
protocol Producer: AnyObject, Sendable {
    /// Called before each take: the in-process producer makes the next batch here.
    func prepareNext() throws(LoaderError)
    func wake()
    func sampleMemory()
    func shutdown()
    var workerProcessIDs: [Int32] { get }
}

/// The state the consumer and the dispatcher share, under one lock.
final class LoaderState: @unchecked Sendable {
    let mutex = Mutex()
    let slots: SharedSlots
    var pool: SlotPool
    /// Finished batches waiting for the consumer: the reorder buffer.
    var ready: [BatchKey: Int] = [:]
    /// The next batch to deliver (ordered mode), or the count delivered so far (unordered, as index).
    var cursor: BatchKey
    let endEpoch: Int
    let ordered: Bool
    /// Batches per epoch, recorded by the producer when it starts an epoch.
    var counts: [Int: Int] = [:]
    var failure: LoaderError?
    /// Batches dispatched or ready but not yet delivered.
    var outstanding = 0
    /// Set when the producer has dispatched everything up to `endEpoch`.
    var producedAll = false
    var stats = Loader.Statistics()
    var reportedFiles = Set<String>()
    private var lastMemorySample = 0.0

    init(slots: SharedSlots, start: Loader.Position, endEpoch: Int, ordered: Bool, firstCount: Int) {
        self.slots = slots
        pool = SlotPool(count: slots.count)
        cursor = BatchKey(epoch: start.epoch, index: start.batch)
        self.endEpoch = endEpoch
        self.ordered = ordered
        counts[start.epoch] = firstCount
        normalizeCursor()
    }

    /// Moves the cursor past finished epochs (lock held, or during init).
    func normalizeCursor() {
        while cursor.epoch < endEpoch, let n = counts[cursor.epoch], cursor.index >= n {
            cursor = BatchKey(epoch: cursor.epoch + 1, index: 0)
        }
    }

    /// Waits for the next deliverable batch and lends its slot; nil at the end.
    func take() throws(LoaderError) -> (BatchKey, Int)? {
        try mutex.withLock { () throws(LoaderError) -> (BatchKey, Int)? in
            while true {
                if let failure { throw failure }
                if ordered {
                    normalizeCursor()
                    if cursor.epoch >= endEpoch { return nil }
                    if let slot = ready.removeValue(forKey: cursor) {
                        let key = cursor
                        pool.lend(slot)
                        outstanding -= 1
                        cursor.index += 1
                        normalizeCursor()
                        _checkInvariants()
                        return (key, slot)
                    }
                } else {
                    if let key = ready.keys.min(), let slot = ready.removeValue(forKey: key) {
                        pool.lend(slot)
                        outstanding -= 1
                        cursor = key
                        cursor.index += 1
                        _checkInvariants()
                        return (key, slot)
                    }
                    if producedAll && outstanding == 0 { return nil }
                }
                if pool.freeCount == 0 && pool.lentCount == pool.states.count {
                    throw LoaderError(
                        .usage,
                        "all \(pool.states.count) batch slots are held by the consumer: release batches (or raise maxQueueSize) before asking for the next"
                    )
                }
                mutex.wait(timeoutSeconds: 0.5)
            }
        }
    }

    func release(_ slot: Int) {
        mutex.withLock {
            pool.release(slot)
            _checkInvariants()
        }
    }

    /// Adds a finished batch to the reorder buffer (lock held).
    func markReady(_ key: BatchKey, slot: Int) {
        pool.markReady(slot)
        ready[key] = slot
        _checkInvariants()
    }

    /// The reorder buffer agrees with the slot pool: every waiting batch sits in a slot marked
    /// ready for that very batch, no ready slot is missing from the buffer, and in ordered mode
    /// nothing older than the cursor waits. Compiled with `-D AUGLOAD_INVARIANTS` (lock held).
    func _checkInvariants() {
        #if AUGLOAD_INVARIANTS
            for (key, slot) in ready {
                precondition(pool.states[slot] == .ready(key), "\(key) waits in slot \(slot), which is \(pool.states[slot])")
                precondition(!ordered || key >= cursor, "\(key) waits although the consumer is at \(cursor)")
            }
            let readySlots = pool.states.filter { if case .ready = $0 { return true } else { return false } }.count
            precondition(readySlots == ready.count, "\(readySlots) slots are ready but \(ready.count) batches wait")
            precondition(outstanding >= ready.count, "outstanding \(outstanding) < waiting \(ready.count)")
        #endif
    }

    /// Updates the peak memory of the process tree `pids`, at most every 100 ms unless `force`
    /// (`pids` is only evaluated when a sample is due).
    func recordMemory(of pids: @autoclosure () -> [pid_t], force: Bool = false) {
        let now = monotonicSeconds()
        let due = mutex.withLock { () -> Bool in
            guard force || now - lastMemorySample >= 0.1 else { return false }
            lastMemorySample = now
            return true
        }
        guard due else { return }
        let bytes = ProcessProbe.treeMemory(pids())
        mutex.withLock { stats.peakMemoryBytes = max(stats.peakMemoryBytes, bytes) }
    }

    /// Records skipped files and files decoded with warnings, once per path and kind.
    func addSkipped(_ files: [SkippedFile]) {
        for f in files where reportedFiles.insert(f.kind.rawValue + ":" + f.path).inserted {
            if f.kind == .warning { stats.warnings.append(f) } else { stats.skipped.append(f) }
        }
    }
}

/// Makes batches on the consumer's thread (`workers: 0`): the same sources, slots and ordering.
final class InProcessProducer: Producer, @unchecked Sendable {
    private var source: any BatchSource
    private let state: LoaderState

    init(source: any BatchSource, state: LoaderState) {
        self.source = source
        self.state = state
    }

    func prepareNext() throws(LoaderError) {
        state.recordMemory(of: [getpid()])
        // Make sure the cursor's epoch has a known batch count, skipping (and ending) empty epochs.
        while true {
            let (epoch, known) = state.mutex.withLock { () -> (Int, Bool) in
                state.normalizeCursor()
                return (state.cursor.epoch, state.counts[state.cursor.epoch] != nil)
            }
            if epoch >= state.endEpoch {
                state.mutex.withLock { state.producedAll = true }
                return
            }
            if known { break }
            let count = source.batchCount(epoch: epoch)
            state.mutex.withLock { state.counts[epoch] = count }
            if count == 0 { _ = source.epochDidEnd(epoch) }
        }
        let (key, slot): (BatchKey, Int)
        let mustProduce = state.mutex.withLock { () -> (BatchKey, Int)?? in
            let key = state.cursor
            if state.failure != nil || state.ready[key] != nil { return .some(nil) }
            guard let slot = state.pool.acquire(for: key) else { return nil }
            return (key, slot)
        }
        guard let produce = mustProduce else { return }  // no free slot: take() reports it
        guard let produce else { return }
        (key, slot) = produce
        let base = state.slots.slot(slot)
        let layout = state.slots.layout
        layout.clearHeader(at: base)
        var writer = layout.writer(at: base)
        do {
            let order = try source.order(epoch: key.epoch, index: key.index)
            let skipped = try source.fill(order: order, epoch: key.epoch, index: key.index, into: &writer)
            layout.writeHeader(at: base, epoch: key.epoch, index: key.index, writer: writer)
            state.mutex.withLock {
                state.outstanding += 1
                state.markReady(key, slot: slot)
                state.addSkipped(skipped)
            }
            if key.index + 1 >= state.mutex.withLock({ state.counts[key.epoch] ?? 0 }) {
                _ = source.epochDidEnd(key.epoch)
                let next = key.epoch + 1
                let count = next < state.endEpoch ? source.batchCount(epoch: next) : 0
                state.mutex.withLock {
                    if next < state.endEpoch { state.counts[next] = count } else { state.producedAll = true }
                }
            }
        } catch {
            state.mutex.withLock { state.pool.release(slot) }
            let failure = (error as? LoaderError) ?? LoaderError(.sequence, "\(key) failed: \(error)")
            state.mutex.withLock { state.failure = failure }
            throw failure
        }
    }

    func wake() {}

    var workerProcessIDs: [Int32] { [] }

    func sampleMemory() { state.recordMemory(of: [getpid()], force: true) }

    func shutdown() {}
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension Loader {
    /// Batches in `epoch` (known once the loader has started that epoch; 0 before).
    public func batchCount(epoch: Int) -> Int { state.mutex.withLock { state.counts[epoch] ?? 0 } }

    /// The process ids of the live workers (empty in-process), for diagnostics.
    public var workerProcessIDs: [Int32] { producer.workerProcessIDs }

    /// Finished batches waiting to be taken right now.
    public var queuedBatches: Int { state.mutex.withLock { state.ready.count } }
}
