#if canImport(Glibc)
    import Glibc
#endif

/// Makes batches on the consumer's thread (`workers: 0`): the same source, slots, schedule and
/// ordering as with workers, one batch per ``prepareNext()``.
final class InProcessProducer: Producer, @unchecked Sendable {
    private var source: any BatchSource
    private let state: LoaderState
    /// Touched only from the consumer's thread (inside ``prepareNext()``).
    private var schedule: EpochSchedule
    private var stopped = false

    init(source: any BatchSource, state: LoaderState, schedule: EpochSchedule) {
        self.source = source
        self.state = state
        self.schedule = schedule
    }

    func prepareNext() throws(LoaderError) {
        state.recordMemory(of: [getpid()])
        let proceed = state.mutex.withLock {
            !(state.failure != nil || state.closed || state.buffer.isReady(state.buffer.cursor))
        }
        guard proceed else { return }
        let step = schedule.step(
            batchCount: { source.batchCount(epoch: $0) },
            onEnter: { epoch, count in state.mutex.withLock { state.buffer.setCount(count, epoch: epoch) } },
            epochDidEnd: { _ = source.epochDidEnd($0); return true })
        guard case .batch(let key) = step else {
            // In-process every batch is finished before the next starts, so the walk never waits.
            state.mutex.withLock { state.buffer.finishProducing() }
            return
        }
        guard let slot = state.mutex.withLock({ state.acquire(for: key) }) else { return }  // take() reports it
        schedule.started(key)
        let base = state.slots.slot(slot)
        let layout = state.slots.layout
        layout.clearHeader(at: base)
        var writer = layout.writer(at: base)
        do {
            let order = try source.order(epoch: key.epoch, index: key.index)
            let skipped = try source.fill(order: order, epoch: key.epoch, index: key.index, into: &writer)
            layout.writeHeader(at: base, epoch: key.epoch, index: key.index, writer: writer)
            state.mutex.withLock {
                state.markReady(key, slot: slot)
                state.addSkipped(skipped)
            }
            schedule.finished(key, epochDidEnd: { _ = source.epochDidEnd($0); return true })
        } catch {
            let failure = (error as? LoaderError) ?? LoaderError(.sequence, "\(key) failed: \(error)")
            state.mutex.withLock {
                state.abandon(slot: slot)
                if state.failure == nil { state.failure = failure }
            }
            throw failure
        }
    }

    func wake() {}

    var workerProcessIDs: [Int32] { [] }

    func sampleMemory() { state.recordMemory(of: [getpid()], force: true) }

    func shutdown() {}
}
