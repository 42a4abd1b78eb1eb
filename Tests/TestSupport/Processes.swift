#if canImport(Glibc)
    import Glibc
#endif

/// The result of running a program.
public struct ProcessResult: Sendable {
    /// The exit status, or 128 + the signal that ended the process.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var signal: Int32?
}

/// A started child process with stdout/stderr captured in temporary files.
public final class Child: @unchecked Sendable {
    public let pid: pid_t
    let outPath: String
    let errPath: String

    init(pid: pid_t, outPath: String, errPath: String) {
        self.pid = pid
        self.outPath = outPath
        self.errPath = errPath
    }

    /// What the child has written to stderr so far.
    public var stderrSoFar: String { String(decoding: TestPaths.read(errPath) ?? [], as: UTF8.self) }
    public var stdoutSoFar: String { String(decoding: TestPaths.read(outPath) ?? [], as: UTF8.self) }

    public func wait() -> ProcessResult {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = stdoutSoFar
        let err = stderrSoFar
        unlink(outPath)
        unlink(errPath)
        let sig = status & 0x7F
        return ProcessResult(
            status: sig == 0 ? (status >> 8) & 0xFF : 128 + sig, stdout: out, stderr: err, signal: sig == 0 ? nil : sig)
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Runs `path` with `arguments` and waits.
public func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    try spawnChild(path, arguments, environment: environment).wait()
}

/// Starts `path`; `environment` adds to (or overrides) this process's environment.
public func spawnChild(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Child {
    let stamp = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let outPath = "/tmp/augload-out-\(stamp)"
    let errPath = "/tmp/augload-err-\(stamp)"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var env: [String] = []
    var p = environ
    while let e = p.pointee {
        let s = String(cString: e)
        let key = String(s.prefix(while: { $0 != "=" }))
        if environment[key] == nil { env.append(s) }
        p += 1
    }
    for (k, v) in environment { env.append("\(k)=\(v)") }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup($0) } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    // Signal dispositions set to "ignore" survive exec: give the child the defaults, as a shell
    // would, so tests can interrupt it.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for s in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard rc == 0 else { throw SpawnError(message: "cannot run \(path): \(String(cString: strerror(rc)))") }
    return Child(pid: pid, outPath: outPath, errPath: errPath)
}

/// Whether a process exists and is not a zombie.
public func processIsAlive(_ pid: pid_t) -> Bool {
    guard let stat = TestPaths.read("/proc/\(pid)/stat") else { return false }
    let text = String(decoding: stat, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return false }
    let state = text[text.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// The pids whose parent is `parent`.
public func childrenOf(_ parent: pid_t) -> [pid_t] {
    TestPaths.list("/proc").compactMap { Int32($0) }.filter { pid in
        guard let stat = TestPaths.read("/proc/\(pid)/stat") else { return false }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        let fields = text[text.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == parent
    }
}
