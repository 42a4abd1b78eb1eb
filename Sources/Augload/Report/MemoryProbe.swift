#if canImport(Glibc)
    import Glibc
#endif

/// Reads process memory from /proc.
///
/// The loader reports the proportional set size (PSS) summed over itself and its workers: shared
/// slot memory mapped by eight processes is counted once, as it is once in RAM. Summing RSS
/// instead would count it eight times.
public enum MemoryProbe {
    /// Pss of `pid` in bytes from /proc/PID/smaps_rollup (0 when unreadable).
    public static func proportionalSetSize(pid: pid_t) -> Int {
        field("Pss:", in: "/proc/\(pid)/smaps_rollup")
    }

    /// Resident set size of `pid` in bytes from /proc/PID/status (0 when unreadable).
    public static func residentSetSize(pid: pid_t) -> Int {
        field("VmRSS:", in: "/proc/\(pid)/status")
    }

    private static func field(_ name: String, in path: String) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { return 0 }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter { $0.isNumber }
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}
