import CAugSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The loader's engine room in worker mode: one long-lived thread that spawns the workers, hands
/// each idle worker the next task while a slot is free, collects results into the reorder buffer,
/// and replaces workers that die.
///
/// Why one thread does all of it: `PR_SET_PDEATHSIG` fires when the *thread* that spawned a child
/// exits, so spawning (and respawning) from a thread that lives as long as the loader is what lets
/// workers die with it. The thread sleeps in `poll` on the workers' channels and a wake-up pipe
/// the consumer writes to when it releases a slot.
///
/// Who touches what:
///
/// | state | owner |
/// | --- | --- |
/// | `source`, `schedule`, `configuration`, `retry`, `attempts`, `touchedSlots`, `anyBatchDone`, `serial` | the dispatcher thread only |
/// | each ``WorkerProcess``'s `task`, `inbox`, `completed` | the dispatcher thread only |
/// | `workers` (the array), `running`, `stopping` | `state.mutex` (the consumer reads pids and stops the thread) |
/// | `state` (slot pool, reorder buffer, failure, statistics) | `state.mutex` — see ``LoaderState`` |
/// | `wakeWrite` | any thread (one-byte writes to a non-blocking pipe) |
final class Dispatcher: Producer, @unchecked Sendable {
    private var source: any BatchSource
    private let state: LoaderState
    private let requirement: SlotRequirement
    private let maxAttempts: Int
    private let logger: Logger
    private var typeName: String
    private var configuration: [UInt8]

    private var workers: [WorkerProcess] = []
    private var serial = 0
    private var retry: [WorkerProcess.Task] = []
    private var attempts: [BatchKey: Int] = [:]
    /// The walk through the run's epochs (shared with the in-process producer's logic).
    private var schedule: EpochSchedule
    /// Slots whose pages this process allocated at start-up (see ``dispatch()``).
    private var touchedSlots = Set<Int>()
    /// Worker processes run at once, and tasks in flight: the worker count, but at most the core
    /// count. More concurrent batches than cores only time-slice the same cores (each batch takes
    /// longer, caches thrash, more slots fill), and idle spare processes cost start-up CPU and
    /// memory for a ~30 ms head start when a worker dies (a dead worker is replaced either way).
    /// Measured on 2 cores: 3 in flight made 7 workers 15 % slower than 2; 5 idle spares, 4–8 %.
    private let activeLimit: Int
    private var anyBatchDone = false

    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var thread = pthread_t()
    private var running = false
    private var stopping = false

    init(
        source: any BatchSource, state: LoaderState, schedule: EpochSchedule, workers: Int, requirement: SlotRequirement,
        maxAttempts: Int, logger: Logger
    ) throws(LoaderError) {
        self.source = source
        self.state = state
        self.schedule = schedule
        self.requirement = requirement
        self.maxAttempts = maxAttempts
        self.logger = logger
        typeName = TypeCodec.name(of: type(of: source))
        activeLimit = Loader.processes(forWorkers: workers)
        do {
            configuration = try source.configuration()
        } catch let error as LoaderError {
            throw error
        } catch {
            throw LoaderError(.sequence, "cannot encode \(type(of: source)) for the workers: \(error) (use workers: 0)")
        }
        var fds: [Int32] = [-1, -1]
        try Sys.call("pipe2") { aug_pipe_cloexec_nonblock(&fds) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        do {
            thread = try Threads.start("start the dispatcher thread") { self.run() }
        } catch {
            Sys.close(wakeRead)
            Sys.close(wakeWrite)
            throw LoaderError(.system, "cannot start the dispatcher thread: \(error.reason)")
        }
        running = true
    }

    deinit {
        Sys.close(wakeRead)
        Sys.close(wakeWrite)
    }

    func prepareNext() throws(LoaderError) {}

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    var workerProcessIDs: [Int32] { state.mutex.withLock { workers.map(\.pid) } }

    func sampleMemory() { state.recordMemory(of: treePIDs, force: true) }

    /// This process and its live workers.
    private var treePIDs: [pid_t] { state.mutex.withLock { [getpid()] + workers.map(\.pid) } }

    func shutdown() {
        let wasRunning = state.mutex.withLock { () -> Bool in
            let r = running
            stopping = true
            running = false
            return r
        }
        if wasRunning {
            wake()
            pthread_join(thread, nil)
        }
    }

    // MARK: The dispatcher thread

    private func run() {
        var pollSet: [pollfd] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !state.mutex.withLock({ stopping }) {
            // Starts workers as needed (only as many as may work at first; see dispatch) and hands
            // idle ones their tasks.
            dispatch()
            pollSet.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            let current = state.mutex.withLock { workers }
            for w in current { pollSet.append(pollfd(fd: w.channel, events: Int16(POLLIN), revents: 0)) }
            do {
                try Sys.call("poll on the worker channels") { poll(&pollSet, nfds_t(pollSet.count), 100) }
            } catch {
                fail(error)
                break
            }
            if pollSet[0].revents != 0 { _ = buffer.withUnsafeMutableBytes { read(wakeRead, $0.baseAddress!, $0.count) } }
            for (i, w) in current.enumerated() where pollSet[i + 1].revents != 0 {
                let alive = w.receive(using: &buffer)
                for frame in Frame.drain(&w.inbox) { handle(frame, from: w) }
                if !alive { workerDied(w) }
            }
            state.recordMemory(of: treePIDs)
        }
        stopWorkers()
    }

    private func spawnWorker() throws(LoaderError) {
        serial += 1
        let w = try WorkerProcess.spawn(slots: state.slots, cache: source.cacheDescriptor, serial: serial)
        try w.send(
            .configure(
                typeName: typeName, configuration: configuration, requirement: requirement, slotCount: state.slots.count))
        state.mutex.withLock { workers.append(w) }
        logger.debug("spawned worker", metadata: ["worker": "\(w.serial)", "pid": "\(w.pid)"])
    }

    /// Hands tasks to idle workers while slots are free.
    private func dispatch() {
        while state.mutex.withLock({ workers.count }) < activeLimit && !state.mutex.withLock({ stopping }) {
            do {
                try spawnWorker()
            } catch {
                fail(error)
                return
            }
        }
        let current = state.mutex.withLock { workers }
        var busy = current.filter { $0.task != nil }.count
        // Prefer warm workers (slots already mapped, caches hot).
        for w in current.filter({ $0.task == nil }).sorted(by: { $0.completed > $1.completed }) where busy < activeLimit {
            guard let task = nextTask() else { return }
            busy += 1
            w.task = task
            do {
                try w.send(.task(epoch: task.epoch, index: task.index, slot: task.slot, order: task.order))
            } catch {
                // The worker is gone; poll will report it and workerDied re-queues the task.
            }
        }
        // At start-up the workers spend ~25 ms being loaded before they read their first task:
        // meanwhile, allocate the pages of those tasks' slots here (a slot's first use zeroes
        // ~40 MB), so the worker only maps them in and the first batch comes sooner.
        if !anyBatchDone {
            for w in current {
                if let slot = w.task?.slot, touchedSlots.insert(slot).inserted { state.slots.prefault(slot: slot) }
            }
        }
    }

    /// A retry first, else a new batch with a fresh slot (nil when none can start now).
    private func nextTask() -> WorkerProcess.Task? {
        if !retry.isEmpty { return retry.removeFirst() }
        let step = schedule.step(
            batchCount: { source.batchCount(epoch: $0) },
            onEnter: { epoch, count in state.mutex.withLock { state.buffer.setCount(count, epoch: epoch) } },
            epochDidEnd: epochDidEnd)
        switch step {
        case .waitForEpochEnd:
            return nil
        case .finished:
            state.mutex.withLock {
                state.buffer.finishProducing()
                state.mutex.broadcast()
            }
            return nil
        case .batch(let key):
            guard let slot = state.mutex.withLock({ state.acquire(for: key) }) else { return nil }
            do {
                let order = try source.order(epoch: key.epoch, index: key.index)
                schedule.started(key)
                return WorkerProcess.Task(epoch: key.epoch, index: key.index, slot: slot, order: order)
            } catch {
                state.mutex.withLock { state.abandon(slot: slot) }
                fail(error)
                return nil
            }
        }
    }

    /// Runs the source's end-of-epoch hook; re-sends the configuration when it changed. False
    /// when the new configuration cannot be encoded (the run fails).
    private func epochDidEnd(_ epoch: Int) -> Bool {
        guard source.epochDidEnd(epoch) else { return true }
        do {
            configuration = try source.configuration()
        } catch {
            fail(error)
            return false
        }
        for w in state.mutex.withLock({ workers }) { try? w.send(.reconfigure(configuration: configuration)) }
        return true
    }

    private func handle(_ frame: [UInt8], from w: WorkerProcess) {
        let message: Message
        do {
            message = try Message(decoding: frame)
        } catch {
            fail(error)
            return
        }
        switch message {
        case .done(let epoch, let index, let slot, let skipped):
            guard let task = w.task, task.epoch == epoch, task.index == index, task.slot == slot else {
                fail(LoaderError(.system, "worker \(w.serial) reported batch \(index) of epoch \(epoch), which it was not given"))
                return
            }
            w.task = nil
            w.completed += 1
            anyBatchDone = true
            // Slots are reused last-in first-out, so a run touches only as many as it keeps busy:
            // memory follows the real queue depth. The loader does not map a finished slot in
            // ahead of the consumer: reading it takes read faults that map 16 pages each (fault-
            // around), ~4 ms per 38 MB slot, once, and only if the consumer reads it — where
            // MADV_POPULATE_WRITE here cost ~16 ms per slot of the loader's own CPU.
            let key = BatchKey(epoch: epoch, index: index)
            state.mutex.withLock {
                state.markReady(key, slot: slot)
                state.addSkipped(skipped)
                state.mutex.broadcast()
            }
            schedule.finished(key, epochDidEnd: epochDidEnd)
        case .failed(let epoch, let index, _, var error):
            w.task = nil
            if epoch >= 0 && error.code != .badFile { error.message = "batch \(index) of epoch \(epoch): " + error.message }
            state.fail(error, batch: epoch >= 0 ? BatchKey(epoch: epoch, index: index) : nil)
        default:
            fail(LoaderError(.system, "worker \(w.serial) sent an unexpected message"))
        }
    }

    /// A worker's channel closed: reap it, re-queue its batch (or give up on a batch that keeps
    /// killing workers), and start a replacement.
    private func workerDied(_ w: WorkerProcess) {
        w.closeChannel()
        let status = reap(w.pid)
        state.mutex.withLock { workers.removeAll { $0 === w } }
        if state.mutex.withLock({ stopping }) { return }
        state.mutex.withLock { state.stats.workerRestarts += 1 }
        logger.warning(
            "worker died; replacing it", metadata: ["worker": "\(w.serial)", "pid": "\(w.pid)", "status": "\(status)"])
        if let task = w.task {
            let key = BatchKey(epoch: task.epoch, index: task.index)
            let tries = (attempts[key] ?? 0) + 1
            attempts[key] = tries
            if tries >= maxAttempts {
                state.fail(
                    LoaderError(
                        .workerCrashed,
                        "\(key) killed \(tries) workers (last \(status)); its inputs: \(source.describe(order: task.order))"),
                    batch: key)
                return
            }
            retry.insert(task, at: 0)
            state.mutex.withLock { state.stats.retriedBatches += 1 }
        }
        do {
            try spawnWorker()
        } catch {
            fail(error)
        }
    }

    /// Waits for a dead worker's exit status (SIGKILL if it lingers past a second).
    private func reap(_ pid: pid_t) -> String {
        guard let status = Dispatcher.reap([pid])[pid] else { return "unknown status" }
        let signaled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
        return signaled ? "killed by signal \(status & 0x7F)" : "exit status \((status >> 8) & 0xFF)"
    }

    /// Waits for `pids` to exit, SIGKILLing any still there after a second; their wait statuses.
    static func reap(_ pids: [pid_t]) -> [pid_t: Int32] {
        var statuses: [pid_t: Int32] = [:]
        var pending = pids
        let deadline = monotonicSeconds() + 1
        while !pending.isEmpty {
            pending.removeAll { pid in
                var status: Int32 = 0
                do {
                    let r = try Syscall.retrying("waitpid") { waitpid(pid, &status, WNOHANG) }
                    if r == pid { statuses[pid] = status }
                    return r == pid
                } catch {
                    return true  // ECHILD: reaped already, or not our child
                }
            }
            if pending.isEmpty { break }
            if monotonicSeconds() > deadline {
                for pid in pending {
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    if (try? Syscall.retrying("waitpid") { waitpid(pid, &status, 0) }) == pid { statuses[pid] = status }
                }
                break
            }
            usleep(1000)
        }
        return statuses
    }

    private func fail(_ error: any Error) {
        state.fail((error as? LoaderError) ?? LoaderError(.system, "\(error)"))
    }

    /// Closes every channel (workers exit on end of file), then reaps; SIGKILL after a second.
    private func stopWorkers() {
        let all = state.mutex.withLock { () -> [WorkerProcess] in
            let a = workers
            workers.removeAll()
            return a
        }
        for w in all { w.closeChannel() }
        _ = Dispatcher.reap(all.map(\.pid))
        logger.debug("workers stopped", metadata: ["count": "\(all.count)"])
    }
}
