/// Finished batches waiting for the consumer, and where the consumer is: the loader's hand-off.
///
/// Producers ``dispatched(_:)`` a batch when they give it a slot and ``add(_:slot:)`` it when it
/// is finished; the consumer ``take()``s batches in order (batch 0, 1, 2, … of each epoch, or
/// whatever is ready first when not `ordered`). `outstanding` counts batches dispatched but not
/// yet taken, so the end of an unordered run is `producedAll && outstanding == 0`. Guarded by the
/// loader's lock (``LoaderState/mutex``); `_checkInvariants()` runs after every mutation with
/// `-D AUGLOAD_INVARIANTS`.
struct ReorderBuffer {
    /// What ``take()`` found.
    enum Taken: Equatable {
        /// The next batch and the slot it is in.
        case batch(BatchKey, slot: Int)
        /// Nothing is ready yet.
        case wait
        /// The run is over: every batch up to the last epoch was taken.
        case end
    }

    let endEpoch: Int
    let ordered: Bool
    /// Finished batches by key, each in its slot.
    private(set) var ready: [BatchKey: Int] = [:]
    /// The next batch to deliver (ordered), or the one after the last delivered (unordered).
    private(set) var cursor: BatchKey
    /// Batches per epoch, as producers learn them (an epoch's count is known before its batches).
    private(set) var counts: [Int: Int] = [:]
    /// Batches dispatched or ready but not yet taken.
    private(set) var outstanding = 0
    /// Set when producers have dispatched every batch up to `endEpoch`.
    private(set) var producedAll = false

    init(start: BatchKey, endEpoch: Int, firstCount: Int, ordered: Bool) {
        cursor = start
        self.endEpoch = endEpoch
        self.ordered = ordered
        counts[start.epoch] = firstCount
        normalizeCursor()
        _checkInvariants()
    }

    /// Records how many batches `epoch` has.
    mutating func setCount(_ count: Int, epoch: Int) {
        counts[epoch] = count
        normalizeCursor()
        _checkInvariants()
    }

    /// A batch was given a slot and will be added when finished.
    mutating func dispatched() {
        outstanding += 1
        _checkInvariants()
    }

    /// A dispatched batch that will never be added (its production failed; the run fails).
    mutating func abandoned() {
        precondition(outstanding > ready.count, "abandoned a batch that was never dispatched")
        outstanding -= 1
        _checkInvariants()
    }

    /// A dispatched batch is finished in `slot`.
    mutating func add(_ key: BatchKey, slot: Int) {
        precondition(ready[key] == nil, "\(key) finished twice")
        ready[key] = slot
        _checkInvariants()
    }

    /// Every batch up to `endEpoch` has been dispatched.
    mutating func finishProducing() {
        producedAll = true
        _checkInvariants()
    }

    /// Whether `key` is finished and waiting.
    func isReady(_ key: BatchKey) -> Bool { ready[key] != nil }

    /// Hands out the next deliverable batch.
    mutating func take() -> Taken {
        defer { _checkInvariants() }
        if ordered {
            normalizeCursor()
            if cursor.epoch >= endEpoch { return .end }
            guard let slot = ready.removeValue(forKey: cursor) else { return .wait }
            let key = cursor
            outstanding -= 1
            cursor.index += 1
            normalizeCursor()
            return .batch(key, slot: slot)
        }
        if let key = ready.keys.min(), let slot = ready.removeValue(forKey: key) {
            outstanding -= 1
            cursor = BatchKey(epoch: key.epoch, index: key.index + 1)
            return .batch(key, slot: slot)
        }
        return producedAll && outstanding == 0 ? .end : .wait
    }

    /// Moves the cursor past finished (and empty) epochs whose counts are known.
    private mutating func normalizeCursor() {
        while cursor.epoch < endEpoch, let n = counts[cursor.epoch], cursor.index >= n {
            cursor = BatchKey(epoch: cursor.epoch + 1, index: 0)
        }
    }

    /// The books balance: nothing is ready that was not dispatched, and in ordered mode nothing
    /// older than the cursor waits. (That every ready batch sits in a slot marked ready for it is
    /// ``LoaderState``'s check, which sees both.)
    func _checkInvariants() {
        #if AUGLOAD_INVARIANTS
            precondition(outstanding >= ready.count, "outstanding \(outstanding) < waiting \(ready.count)")
            if ordered {
                for key in ready.keys { precondition(key >= cursor, "\(key) waits although the consumer is at \(cursor)") }
            }
        #endif
    }
}
