#if canImport(Glibc)
    import Glibc
#endif

/// What the consumer and the producer share, under one lock (`mutex`): the slot pool, the reorder
/// buffer, the run's failure, whether the loader is closed, and the statistics.
///
/// Threads: the consumer calls ``take()`` and ``release(_:)`` (also from any thread that drops a
/// batch); the producer (the dispatcher thread, or the consumer itself in-process) acquires slots
/// and adds finished batches. Every field below is read and written with `mutex` held.
final class LoaderState: @unchecked Sendable {
    let mutex = Mutex()
    let slots: SharedSlots
    var pool: SlotPool
    var buffer: ReorderBuffer
    var failure: LoaderError?
    /// The batch whose making failed, when the failure belongs to one: in order, batches before it
    /// that are (or become) ready are still handed out first, so nothing made is lost.
    var failedBatch: BatchKey?
    /// Set by `Loader.close()`: a later take ends at once instead of waiting for a producer that is gone.
    var closed = false
    var stats = Loader.Statistics()
    var reportedFiles = Set<String>()
    private var lastMemorySample = 0.0
    /// The memfds the tree shares (slots, decoded cache), counted once in its memory.
    var sharedMemory: [Int32] = []

    init(slots: SharedSlots, buffer: ReorderBuffer) {
        self.slots = slots
        pool = SlotPool(count: slots.count)
        self.buffer = buffer
    }

    /// Waits for the next deliverable batch and lends its slot; nil at the end of the run.
    /// - Throws: the run's failure; ``LoaderError`` (`.usage`) when the loader is closed or every
    ///   slot is held by the consumer (nothing could ever become ready).
    func take() throws(LoaderError) -> (BatchKey, Int)? {
        try mutex.withLock { () throws(LoaderError) -> (BatchKey, Int)? in
            while true {
                if let failure, failureIsDue { throw failure }
                switch buffer.take() {
                case .batch(let key, let slot):
                    pool.lend(slot)
                    _checkInvariants()
                    return (key, slot)
                case .end:
                    return nil
                case .wait:
                    break
                }
                if closed { throw LoaderError(.usage, "the loader is closed: create a new one to load more batches") }
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

    /// The failure applies now: it belongs to no batch, or (in order) the consumer has reached its
    /// batch, or (unordered) nothing else is ready (lock held).
    private var failureIsDue: Bool {
        guard let failedBatch else { return true }
        return buffer.ordered ? buffer.cursor >= failedBatch : !buffer.hasReady
    }

    /// Takes a free slot for `key` and counts the batch as dispatched (lock held); nil when none is free.
    func acquire(for key: BatchKey) -> Int? {
        guard let slot = pool.acquire(for: key) else { return nil }
        buffer.dispatched()
        return slot
    }

    /// Gives back the slot of a batch that will never finish (lock held).
    func abandon(slot: Int) {
        pool.release(slot)
        buffer.abandoned()
        _checkInvariants()
    }

    /// Returns a lent slot (the consumer released its batch).
    func release(_ slot: Int) {
        mutex.withLock {
            pool.release(slot)
            _checkInvariants()
        }
    }

    /// Adds a finished batch to the reorder buffer (lock held).
    func markReady(_ key: BatchKey, slot: Int) {
        pool.markReady(slot)
        buffer.add(key, slot: slot)
        _checkInvariants()
    }

    /// Records the run's failure and wakes the consumer (takes the lock). `batch` is the batch it
    /// belongs to, if any; of several, the earliest wins, so the consumer meets it first.
    func fail(_ error: LoaderError, batch: BatchKey? = nil) {
        mutex.withLock {
            if failure == nil {
                failure = error
                failedBatch = batch
            } else if let batch, let current = failedBatch, batch < current {
                failure = error
                failedBatch = batch
            }
            mutex.broadcast()
        }
    }

    /// The reorder buffer agrees with the slot pool: every waiting batch sits in a slot marked
    /// ready for that very batch, and no ready slot is missing from the buffer. Compiled with
    /// `-D AUGLOAD_INVARIANTS` (lock held).
    func _checkInvariants() {
        #if AUGLOAD_INVARIANTS
            for (key, slot) in buffer.ready {
                precondition(pool.states[slot] == .ready(key), "\(key) waits in slot \(slot), which is \(pool.states[slot])")
            }
            let readySlots = pool.states.filter { if case .ready = $0 { return true } else { return false } }.count
            precondition(readySlots == buffer.ready.count, "\(readySlots) slots are ready but \(buffer.ready.count) batches wait")
            buffer._checkInvariants()
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
        let bytes = ProcessProbe.treeMemory(pids(), sharedMemory: sharedMemory)
        mutex.withLock { stats.peakMemoryBytes = max(stats.peakMemoryBytes, bytes) }
    }

    /// Records skipped files and files decoded with warnings, once per path and kind (lock held).
    func addSkipped(_ files: [SkippedFile]) {
        for f in files where reportedFiles.insert(f.kind.rawValue + ":" + f.path).inserted {
            if f.kind == .warning { stats.warnings.append(f) } else { stats.skipped.append(f) }
        }
    }
}
