#if canImport(Glibc)
    import Glibc
#endif

/// Reads process memory and CPU time from /proc.
///
/// The loader reports the memory of its process tree with shared pages counted once, as they are
/// once in RAM (summing RSS would count the slot memory once per process). The exact figure, the
/// summed proportional set size, needs /proc/PID/smaps_rollup, which walks every page table and
/// cost ~8 ms per worker here — too much to sample during a run. ``treeMemory(_:)`` reads the
/// cheap /proc/PID/status instead (~0.05 ms): private anonymous memory of every process, plus the
/// shared file pages (the same binary and libraries) and the shared memory (the slots) once.
public enum ProcessProbe {
    /// Resident memory of the processes `pids` with shared pages counted once, in bytes:
    /// Σ RssAnon + max RssFile + the shared memory: the larger of max RssShmem and the pages
    /// allocated to the memfds `sharedMemory` (the slots, the decoded cache). RssShmem alone
    /// misses shared pages no single process has mapped all of — the decoded cache's entries are
    /// written with `pwrite` and each worker maps only those it has read (456 MB reported against
    /// a sampled summed PSS of 511 MB before the memfds were counted).
    public static func treeMemory(_ pids: [pid_t], sharedMemory: [Int32] = []) -> Int {
        var anonymous = 0
        var file = 0
        var shmem = 0
        for pid in pids {
            let f = fields(["RssAnon:", "RssFile:", "RssShmem:"], in: "/proc/\(pid)/status")
            anonymous += f[0]
            file = max(file, f[1])
            shmem = max(shmem, f[2])
        }
        var allocated = 0
        for fd in sharedMemory where fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0 { allocated += Int(st.st_blocks) * 512 }
        }
        return anonymous + file + max(shmem, allocated)
    }

    /// Resident set size of `pid` in bytes from /proc/PID/status (0 when unreadable).
    public static func residentSetSize(pid: pid_t) -> Int {
        field("VmRSS:", in: "/proc/\(pid)/status")
    }

    /// User plus system CPU seconds `pid` has used, from /proc/PID/stat (clock-tick resolution;
    /// 0 when unreadable).
    public static func cpuSeconds(pid: pid_t) -> Double {
        guard let text = text(of: "/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)" come the fields from 3 (state) on: utime is field 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func field(_ name: String, in path: String) -> Int { fields([name], in: path)[0] }

    /// The first 4 KiB of a /proc file as text (nil when unreadable).
    private static func text(of path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// The kB values of `names` in a /proc file, in bytes (0 when absent or unreadable).
    private static func fields(_ names: [String], in path: String) -> [Int] {
        var values = [Int](repeating: 0, count: names.count)
        guard let text = text(of: path) else { return values }
        for line in text.split(separator: "\n") {
            guard let i = names.firstIndex(where: { line.hasPrefix($0) }) else { continue }
            let digits = line.dropFirst(names[i].count).filter { $0.isNumber }
            values[i] = (Int(digits) ?? 0) * 1024
        }
        return values
    }
}
