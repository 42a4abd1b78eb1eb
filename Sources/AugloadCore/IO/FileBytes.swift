#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads whole files into a reusable byte buffer with plain `open`/`read`.
///
/// Why not Foundation: a worker reads thousands of files per second; reusing one buffer avoids an
/// allocation per file, and the errors carry the path and `errno` text the CLI prints.
public struct FileBytes: Sendable {
    /// The bytes of the last file read (`count` is the file's size).
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Replaces `bytes` with the contents of the file at `path`.
    /// - Throws: ``DecodeError`` with code `.io` naming the path and the system's reason.
    public mutating func read(path: String) throws(DecodeError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw DecodeError(.io, path: path, message: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw DecodeError(.io, path: path, message: "cannot stat: \(errnoText())") }
        if (st.st_mode & S_IFMT) != S_IFREG { throw DecodeError(.io, path: path, message: "not a regular file") }
        if st.st_size == 0 {
            try readToEnd(fd, path: path)
            return
        }
        let size = Int(st.st_size)
        var failure: Int32 = 0
        if size > bytes.capacity { bytes = [] }
        bytes.resizeUninitialized(to: size)
        let got = bytes.withUnsafeMutableBytes { buf -> Int in
            var done = 0
            while done < size {
                let n = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return -1
                }
                if n == 0 { break }
                done += n
            }
            return done
        }
        if got < 0 { throw DecodeError(.io, path: path, message: "cannot read: \(String(cString: strerror(failure)))") }
        if got < size { bytes.removeLast(size - got) }
    }
}

extension FileBytes {
    /// Files whose size is not known up front (those in /proc report 0): read until end of file.
    private mutating func readToEnd(_ fd: Int32, path: String) throws(DecodeError) {
        bytes.removeAll(keepingCapacity: true)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DecodeError(.io, path: path, message: "cannot read: \(errnoText())")
            }
            if n == 0 { return }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
