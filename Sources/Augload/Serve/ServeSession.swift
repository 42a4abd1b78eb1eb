import CAugSystem
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The engine side of the client protocol (`Serve/PROTOCOL.md`): one client, one dataset, a
/// ``Loader`` whose slot memory the client maps, and batches pushed in order while the client
/// holds fewer than all the slots.
///
/// Threads: the main thread (``run()``) takes batches from the loader and is the only writer of
/// the socket; a listening thread reads the client's frames (releases, seeks, close) and watches
/// the client process through a pidfd. Everything they share is below `lock`.
///
///     // augload serve --fd 3 --parent 1234
///     exit(ServeSession.serve(socket: 3, parent: 1234, logger: logger))
public final class ServeSession: @unchecked Sendable {
    private let channel: ClientChannel
    private let parent: pid_t?
    private let logger: Logger

    private let lock = Mutex()
    // Below `lock`:
    /// Batches the client holds, by slot (the current generation only).
    private var held: [Int: Batch] = [:]
    /// Where the client asked the run to restart.
    private var seekTarget: Loader.Position?
    private var generation = 0

    private init(socket: Int32, parent: pid_t?, logger: Logger) {
        channel = ClientChannel(fd: socket)
        self.parent = parent
        self.logger = logger
    }

    /// Serves one client on `socket` until it closes, disconnects or `parent` exits; returns the
    /// exit status (0, or 2 when the hello was refused).
    public static func serve(socket: Int32, parent: pid_t?, logger: Logger) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Ctrl-C reaches the whole process group; the client decides when the engine ends.
        signal(SIGINT, SIG_IGN)
        return ServeSession(socket: socket, parent: parent, logger: logger).run()
    }

    private func run() -> Int32 {
        let hello: HelloMessage
        let sequence: ImageBatchSequence
        do throws(LoaderError) {
            guard let frame = try channel.receive() else { return 0 }
            try ClientChannel.decode(Greeting.self, frame).check()
            hello = try ClientChannel.decode(HelloMessage.self, frame)
            sequence = try Self.sequence(for: hello)
        } catch {
            try? channel.send(.error(error, generation: nil))
            return 2
        }
        let workers = hello.workers ?? Loader.defaultWorkers
        let queue = hello.queue ?? Loader.defaultQueue
        let epochs = hello.epochs ?? (1 << 40)
        var ready = EngineMessage(type: "ready")
        ready.protocol = ClientProtocol.version
        ready.version = EngineVersion.release
        ready.kernels = EngineVersion.kernels
        ready.enginePid = Int(getpid())
        ready.classes = sequence.folder.classes
        ready.notes =
            sequence.folder.notes.isEmpty && sequence.folder.damage.isEmpty ? nil : sequence.folder.notes + sequence.folder.damage
        ready.samples = sequence.samplesPerEpoch
        ready.batchesPerEpoch = sequence.batchCount(epoch: 0)
        ready.workers = Loader.processes(forWorkers: workers)
        var loader: Loader
        do {
            loader = try makeLoader(sequence, workers: workers, queue: queue, epochs: epochs, start: hello.start ?? .init())
            try channel.send(ready)
            try sendRing(loader, start: hello.start ?? .init())
        } catch {
            try? channel.send(.error(error, generation: nil))
            return error.code == .invalidOptions ? 2 : 1
        }
        startListening()
        var reported = (skipped: 0, warnings: 0)
        while true {
            // Wait while the client holds every slot, unless it asked for a new start.
            let seek = lock.withLock { () -> Loader.Position? in
                while held.count >= queue && seekTarget == nil { lock.wait(timeoutSeconds: 1) }
                defer { seekTarget = nil }
                return seekTarget
            }
            if let seek {
                loader.close()
                lock.withLock {
                    held.removeAll()
                    generation += 1
                }
                reported = (0, 0)
                do {
                    loader = try makeLoader(sequence, workers: workers, queue: queue, epochs: epochs, start: seek)
                    try sendRing(loader, start: seek)
                } catch {
                    if !sendOrExit(.error(error, generation: generation)) { return 0 }
                    waitForSeek()
                }
                continue
            }
            let batch: Batch?
            do {
                batch = try loader.next()
            } catch {
                if !sendOrExit(.error(error, generation: lock.withLock { generation })) { return 0 }
                waitForSeek()
                continue
            }
            guard let batch else {
                var end = EngineMessage(type: "end")
                end.generation = lock.withLock { generation }
                if !sendOrExit(end) { return 0 }
                waitForSeek()
                continue
            }
            let stats = loader.currentStatistics
            var message = EngineMessage(type: "batch")
            message.slot = batch.slot
            message.epoch = batch.epoch
            message.index = batch.index
            message.workerRestarts = stats.workerRestarts
            message.cache = loader.cacheStatistics
            message.skipped =
                stats.skipped[reported.skipped...].map { .init(path: $0.path, error: $0.error, kind: "skipped") }
                + stats.warnings[reported.warnings...].map { .init(path: $0.path, error: $0.error, kind: "warning") }
            reported = (stats.skipped.count, stats.warnings.count)
            let current = lock.withLock { () -> Int? in
                // A seek that arrived while this batch was made: the batch belongs to the old run.
                guard seekTarget == nil, let slot = batch.slot else { return nil }
                held[slot] = batch
                return generation
            }
            guard let current else {
                batch.release()
                continue
            }
            message.generation = current
            if !sendOrExit(message) { return 0 }
        }
    }

    /// Sends `message`; false when the client is gone (the caller ends the session).
    private func sendOrExit(_ message: EngineMessage) -> Bool {
        do {
            try channel.send(message)
            return true
        } catch {
            return false
        }
    }

    /// After an error or the end of the run: nothing to do until the client seeks or leaves.
    private func waitForSeek() {
        lock.withLock {
            while seekTarget == nil { lock.wait(timeoutSeconds: 1) }
        }
    }

    private func makeLoader(_ sequence: ImageBatchSequence, workers: Int, queue: Int, epochs: Int, start: Loader.Position)
        throws(LoaderError) -> Loader
    {
        try Loader(
            source: sequence, workers: workers, maxQueueSize: queue, epochs: max(0, epochs - start.epoch), start: start,
            ordered: true, maxAttempts: 3, sharedSlots: true, logger: logger)
    }

    private func sendRing(_ loader: Loader, start: Loader.Position) throws(LoaderError) {
        let slots = loader.state.slots
        var ring = EngineMessage(type: "ring")
        ring.generation = lock.withLock { generation }
        ring.slots = slots.count
        ring.slotBytes = slots.layout.slotSize
        ring.start = start
        try channel.send(ring, attaching: slots.fd)
    }

    static func sequence(for hello: HelloMessage) throws(LoaderError) -> ImageBatchSequence {
        let options = hello.options ?? ImageBatchOptions()
        try options.validate()  // before the dataset is read, which may take long: a bad option fails at once
        let d = hello.dataset
        let folder: ImageFolder
        if let root = d.folder {
            folder = try ImageFolder(root: root)
        } else if let files = d.files {
            folder = try ImageFolder(files: files, labels: d.labels ?? [], classes: d.classes)
        } else if let shards = d.shards {
            folder = try ImageFolder(shards: shards, label: d.label ?? "cls")
        } else {
            throw LoaderError(.invalidOptions, "the dataset needs a folder, files or shards")
        }
        return try ImageBatchSequence(folder: folder, options: options)
    }

    // MARK: The listening thread

    private func startListening() {
        do {
            pthread_detach(try Threads.start("start the serve listener") { self.listen() })
        } catch {
            logger.error("cannot start the serve listener: \(error.reason)")
            _exit(1)
        }
    }

    /// Reads the client's frames until it leaves; then the whole engine exits (the workers die
    /// with it: their channels close and `PR_SET_PDEATHSIG` follows the dispatcher thread).
    private func listen() {
        let pidfd = parent.map { aug_pidfd_open($0) } ?? -1
        var fds = [pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0)]
        if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
        while true {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds.count > 1 && fds[1].revents != 0 { break }  // the client process exited
            guard fds[0].revents != 0 else { continue }
            guard let frame = try? channel.receive(), let request = try? ClientChannel.decode(ClientRequest.self, frame)
            else { break }
            switch request.type {
            case "release":
                // The slots go back to the loader before the main thread is woken: it calls
                // `next()` as soon as it sees the client holds fewer than all the slots, and the
                // loader must see them free by then. (Lock order: this lock, then the loader's.)
                lock.withLock {
                    guard request.generation == generation else { return }
                    for slot in request.slots ?? [] { held.removeValue(forKey: slot)?.release() }
                    lock.broadcast()
                }
            case "seek":
                lock.withLock {
                    seekTarget = Loader.Position(epoch: max(0, request.epoch ?? 0), batch: max(0, request.batch ?? 0))
                    lock.broadcast()
                }
            case "close":
                _exit(0)
            default:
                logger.warning("unknown client request '\(request.type)'")
            }
        }
        // End of file, a broken frame or the client's exit: no one is left to serve.
        _exit(0)
    }
}
