import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The worker side: what a re-executed program runs instead of its own `main`.
///
/// The C constructor in CAugSystem calls this (through `@_cdecl`) before `main` when the loader's
/// marker is in the environment; this function never returns to the program — its result becomes
/// the exit status. A worker resolves the source type by name, maps the slot memory, then serves
/// tasks until its channel closes (the loader exited or closed it) or its parent thread dies
/// (`PR_SET_PDEATHSIG`).
@_cdecl("aug_worker_main")
public func augloadWorkerMain(_ channel: Int32) -> Int32 {
    signal(SIGPIPE, SIG_IGN)
    // Ctrl-C goes to the whole process group; the loader decides when workers end.
    signal(SIGINT, SIG_IGN)
    if let parent = getenv(WorkerProcess.parentEnvironmentKey).flatMap({ Int32(String(cString: $0)) }) {
        unsetenv(WorkerProcess.parentEnvironmentKey)
        if aug_set_parent_death_signal(parent) != 0 { return 0 }
    }
    var worker = WorkerLoop(channel: channel, slotMemory: WorkerFD.slots)
    return worker.run()
}

struct WorkerLoop {
    let channel: Int32
    let slotMemory: Int32
    var source: (any BatchSource)?
    var slots: UnsafeMutableRawPointer?
    var layout: SlotLayout?
    var slotCount = 0
    /// Slots this worker has mapped in already.
    var populated = Set<Int>()

    init(channel: Int32, slotMemory: Int32) {
        self.channel = channel
        self.slotMemory = slotMemory
    }

    mutating func run() -> Int32 {
        while true {
            let frame: [UInt8]?
            do {
                frame = try Frame.read(channel)
            } catch {
                return 3
            }
            guard let frame else { return 0 }  // the loader closed the channel: done
            do {
                switch try Message(decoding: frame) {
                case .configure(let typeName, let configuration, let requirement, let count):
                    try configure(typeName: typeName, configuration: configuration, requirement: requirement, slotCount: count)
                case .reconfigure(let configuration):
                    guard let current = source else { throw LoaderError(.system, "reconfigure before configure") }
                    source = try Self.make(type(of: current), configuration)
                case .task(let epoch, let index, let slot, let order):
                    reply(perform(epoch: epoch, index: index, slot: slot, order: order))
                default:
                    throw LoaderError(.system, "unexpected message for a worker")
                }
            } catch let error as LoaderError {
                reply(.failed(epoch: -1, index: -1, slot: -1, error: error))
            } catch {
                reply(.failed(epoch: -1, index: -1, slot: -1, error: LoaderError(.sequence, "\(error)")))
            }
        }
    }

    mutating func configure(typeName: String, configuration: [UInt8], requirement: SlotRequirement, slotCount: Int) throws {
        guard let type = TypeCodec.type(named: typeName) else {
            throw LoaderError(.sequence, "the worker cannot find the sequence type '\(typeName)' (declare it at file scope)")
        }
        guard let sourceType = type as? any BatchSource.Type else {
            throw LoaderError(.sequence, "'\(typeName)' is not a BatchSource")
        }
        source = try Self.make(sourceType, configuration)
        let layout = SlotLayout(requirement)
        self.layout = layout
        self.slotCount = slotCount
        slots = try SharedSlots.map(fd: slotMemory, bytes: layout.slotSize * slotCount)
    }

    static func make(_ type: any BatchSource.Type, _ configuration: [UInt8]) throws -> any BatchSource {
        try type.init(configuration: configuration)
    }

    mutating func perform(epoch: Int, index: Int, slot: Int, order: [UInt8]) -> Message {
        guard var current = source, let layout, let slots, (0..<slotCount).contains(slot) else {
            return .failed(epoch: epoch, index: index, slot: slot, error: LoaderError(.system, "task before configuration"))
        }
        let base = slots + slot * layout.slotSize
        if populated.insert(slot).inserted { aug_populate_write(base, layout.slotSize) }
        layout.clearHeader(at: base)
        var writer = layout.writer(at: base)
        do {
            let skipped = try current.fill(order: order, epoch: epoch, index: index, into: &writer)
            source = current
            layout.writeHeader(at: base, epoch: epoch, index: index, writer: writer)
            return .done(epoch: epoch, index: index, slot: slot, skipped: skipped)
        } catch let error as LoaderError {
            source = current
            return .failed(epoch: epoch, index: index, slot: slot, error: error)
        } catch {
            source = current
            return .failed(
                epoch: epoch, index: index, slot: slot,
                error: LoaderError(.sequence, "batch \(index) of epoch \(epoch) failed: \(error)"))
        }
    }

    func reply(_ message: Message) {
        do {
            try Sys.writeAll(channel, message.encoded())
        } catch {
            _exit(0)  // the loader is gone
        }
    }
}
