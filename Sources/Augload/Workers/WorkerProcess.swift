import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The file descriptors a worker is spawned with (``aug_spawn`` moves them to 3, 4, 5, …).
enum WorkerFD {
    /// The control channel to the loader (a socket).
    static let channel: Int32 = 3
    /// The memfd of the batch slots.
    static let slots: Int32 = 4
    /// The memfd of the decoded cache, when the source has one (see ``DecodedCache``).
    static let cache: Int32 = 5
}

/// One spawned worker: its pid, its end of the control channel, and what it is working on.
///
/// Workers are spawned with `posix_spawn` of `/proc/self/exe` — a fresh image of this very
/// program, never a `fork()` of the running loader — with the descriptors of ``WorkerFD``. The CAugSystem constructor turns the new process into a worker before `main`.
final class WorkerProcess {
    static let parentEnvironmentKey = "AUGLOAD_PARENT_PID"

    let pid: pid_t
    let channel: Int32
    /// Bytes received but not yet parsed into frames.
    var inbox: [UInt8] = []
    /// The task in progress, if any.
    var task: Task?
    /// Batches this worker has finished.
    var completed = 0
    /// Monotonic id, for logs.
    let serial: Int

    struct Task {
        var epoch: Int
        var index: Int
        var slot: Int
        var order: [UInt8]
    }

    private init(pid: pid_t, channel: Int32, serial: Int) {
        self.pid = pid
        self.channel = channel
        self.serial = serial
    }

    /// Spawns a worker sharing `slots` (and the decoded cache's memory `cache`, when not -1).
    static func spawn(slots: SharedSlots, cache: Int32 = -1, serial: Int) throws(LoaderError) -> WorkerProcess {
        var fds: [Int32] = [-1, -1]
        try Sys.call("socketpair") { aug_socketpair_cloexec(&fds) }
        let (mine, theirs) = (fds[0], fds[1])
        defer { Sys.close(theirs) }
        var environment = ProcessEnvironment.current()
        environment.append("\(AUG_WORKER_ENV)=\(WorkerFD.channel)")
        environment.append("\(parentEnvironmentKey)=\(getpid())")
        // A worker that crashes dies at once with the runtime's one-line message (the loader
        // reports it and replaces the worker): Swift's backtracer would keep the dying worker
        // alive while it symbolicates, for as long as it takes, holding its batch. A user who
        // wants worker backtraces sets SWIFT_BACKTRACE themselves.
        if !environment.contains(where: { $0.hasPrefix("SWIFT_BACKTRACE=") }) { environment.append("SWIFT_BACKTRACE=enable=no") }
        let argv0 = CommandLine.arguments.first ?? "augload"
        var pid: pid_t = 0
        let rc = withCStrings([argv0, "[augload worker]"]) { argv in
            withCStrings(environment) { envp in
                // In WorkerFD's order: channel, slots, cache.
                let childFds = [theirs, slots.fd] + (cache >= 0 ? [cache] : [])
                return aug_spawn("/proc/self/exe", argv, envp, childFds, Int32(childFds.count), &pid)
            }
        }
        if rc != 0 {
            Sys.close(mine)
            throw LoaderError(.system, "cannot spawn a worker process: \(String(cString: strerror(rc)))")
        }
        return WorkerProcess(pid: pid, channel: mine, serial: serial)
    }

    func send(_ message: Message) throws(LoaderError) {
        try Sys.writeAll(channel, message.encoded())
    }

    /// Reads what is available into `inbox` through `scratch` (non-blocking, after poll).
    /// Returns false at end of file.
    func receive(using scratch: inout [UInt8]) -> Bool {
        let received = scratch.withUnsafeMutableBytes { buf in
            Result { () throws(SystemError) in
                try Syscall.retrying("recv") { Glibc.recv(channel, buf.baseAddress!, buf.count, Int32(MSG_DONTWAIT)) }
            }
        }
        switch received {
        case .success(let n) where n > 0:
            inbox.append(contentsOf: scratch[0..<n])
            return true
        case .success: return false  // end of file: the worker is gone
        case .failure(let error): return error.errno == EAGAIN
        }
    }

    /// Closes the channel (the worker sees end of file and exits).
    func closeChannel() { Sys.close(channel) }
}

/// The environment passed to workers: this process's, as `KEY=value` strings.
enum ProcessEnvironment {
    static func current() -> [String] {
        var result: [String] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if !s.hasPrefix(AUG_WORKER_ENV + "=") && !s.hasPrefix(WorkerProcess.parentEnvironmentKey + "=") { result.append(s) }
            p += 1
        }
        return result
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
