/// The walk through a run, epoch by epoch: which batch to make next, how many batches each epoch
/// has, and when an epoch's end-of-epoch hook runs. Both producers (the dispatcher thread, and the
/// consumer's thread with `workers: 0`) use this one walk, so epoch semantics live in one place.
///
/// A source whose epochs are *pure* (``BatchSource/isEpochPure``: a batch depends only on the
/// epoch it is asked for) may run ahead into the next epoch while this one is still being made;
/// any other source waits until every batch of the epoch is finished and its hook has run (the
/// hook may change what workers must be told). Owned by one producer thread; not locked.
struct EpochSchedule {
    /// What to do next.
    enum Step: Equatable {
        /// Make this batch (then call ``started(_:)``).
        case batch(BatchKey)
        /// The current epoch must finish (and its hook run) before the next may start.
        case waitForEpochEnd
        /// Every batch up to the end epoch has been started.
        case finished
    }

    let endEpoch: Int
    let isEpochPure: Bool
    /// The next batch to start.
    private(set) var next: BatchKey
    /// Batches per epoch, learned as each epoch is entered.
    private(set) var counts: [Int: Int] = [:]
    /// Batches finished per epoch.
    private var produced: [Int: Int] = [:]
    /// Epochs whose hook has run.
    private var ended = Set<Int>()

    /// A walk from `start` (whose epoch has `firstCount` batches) up to, not including, `endEpoch`.
    init(start: BatchKey, endEpoch: Int, firstCount: Int, isEpochPure: Bool) {
        next = start
        self.endEpoch = endEpoch
        self.isEpochPure = isEpochPure
        counts[start.epoch] = firstCount
        // Batches before a resume position count as made: the epoch ends after its remaining ones.
        produced[start.epoch] = start.index
    }

    /// The next batch to make. `batchCount` gives a new epoch's count (``onEnter`` is told it);
    /// `epochDidEnd` runs an epoch's hook and returns false when that failed (the walk then stops).
    mutating func step(
        batchCount: (Int) -> Int, onEnter: (_ epoch: Int, _ count: Int) -> Void, epochDidEnd: (Int) -> Bool
    ) -> Step {
        while next.epoch < endEpoch {
            let count = counts[next.epoch] ?? 0
            if next.index < count { return .batch(next) }
            // Past the last batch of this epoch: an impure source waits for the epoch's end.
            let complete = endIfComplete(next.epoch, epochDidEnd)
            if !isEpochPure && !complete { return .waitForEpochEnd }
            next = BatchKey(epoch: next.epoch + 1, index: 0)
            produced[next.epoch] = produced[next.epoch] ?? 0
            if next.epoch < endEpoch {
                let c = batchCount(next.epoch)
                counts[next.epoch] = c
                onEnter(next.epoch, c)
            }
        }
        return .finished
    }

    /// The batch ``step`` returned has been given to a producer.
    mutating func started(_ key: BatchKey) {
        precondition(key == next, "started \(key) but the schedule is at \(next)")
        next.index += 1
    }

    /// A batch is finished; runs its epoch's hook when it was the epoch's last.
    mutating func finished(_ key: BatchKey, epochDidEnd: (Int) -> Bool) {
        produced[key.epoch, default: 0] += 1
        _ = endIfComplete(key.epoch, epochDidEnd)
    }

    /// Runs `epoch`'s hook once, when all its batches are finished; whether the epoch has ended.
    private mutating func endIfComplete(_ epoch: Int, _ epochDidEnd: (Int) -> Bool) -> Bool {
        if ended.contains(epoch) { return true }
        guard let count = counts[epoch], produced[epoch, default: 0] >= count else { return false }
        ended.insert(epoch)  // once, even if the hook fails: the run fails then, and a hook must not run twice
        return epochDidEnd(epoch)
    }
}
