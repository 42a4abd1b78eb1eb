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

    /// Reads shard members at `http(s)://` URLs (made on first use; one per workspace, so each
    /// worker thread keeps its own connection alive).
    private var http: HTTPReader?

    /// Replaces `bytes` with the contents of the file at `path`, or of the shard member a
    /// ``Locator`` names (read from the shard on disk, or with a range request from its URL).
    /// - Throws: ``DecodeError`` with code `.io` naming the path and the system's reason.
    public mutating func read(path: String) throws(DecodeError) {
        if path.utf8.contains(0) {
            let parts = Locator.parse(path)
            if let member = parts.member {
                try read(member: member, of: parts.path, locator: path)
                return
            }
        }
        let fd = try FileBytes.open(path, naming: path, what: "")
        defer { Syscall.close(fd) }
        var st = stat()
        do {
            try Syscall.retrying("fstat") { fstat(fd, &st) }
        } catch {
            throw DecodeError(.io, path: path, message: "cannot stat: \(error.reason)")
        }
        if (st.st_mode & S_IFMT) != S_IFREG { throw DecodeError(.io, path: path, message: "not a regular file") }
        if st.st_size == 0 {
            try readToEnd(fd, path: path)
            return
        }
        let size = Int(st.st_size)
        if size > bytes.capacity { bytes = [] }
        bytes.resizeUninitialized(to: size)
        switch bytes.withUnsafeMutableBytes({ FileBytes.read(fd, into: $0, at: nil) }) {
        case .failure(let error): throw DecodeError(.io, path: path, message: "cannot read: \(error.reason)")
        case .success(let n): if n < size { bytes.removeLast(size - n) }
        }
    }
}

extension FileBytes {
    /// Fills `buffer` from `fd` — with `pread` from `offset`, or with `read` from the file's
    /// position when it is nil — and returns how many bytes it got (fewer only at end of file).
    /// The one read loop of files, shard members, tar headers and kept indexes.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int?) -> Result<
        Int, SystemError
    > {
        var done = 0
        while done < buffer.count {
            do throws(SystemError) {
                let n = try Syscall.retrying("read") {
                    guard let offset else { return Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done) }
                    return pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                }
                if n == 0 { break }
                done += n
            } catch {
                return .failure(error)
            }
        }
        return .success(done)
    }

    /// Opens `path` (a ``Locator`` path) for reading; the error names `locator` and says what
    /// could not be opened (`what`: "" for a file, " the shard" for a shard).
    private static func open(_ path: String, naming locator: String, what: String) throws(DecodeError) -> Int32 {
        do {
            return try Syscall.retrying("open") { Locator.withCString(path) { Glibc.open($0, O_RDONLY | O_CLOEXEC) } }
        } catch {
            throw DecodeError(.io, path: locator, message: "cannot open\(what): \(error.reason)")
        }
    }

    /// Reads a shard member's `size` bytes at `offset`: `pread` from a shard on disk, a range
    /// request for a URL. A shard shorter than its index says is an error naming shard and member.
    private mutating func read(member: Locator.Member, of shard: String, locator: String) throws(DecodeError) {
        if member.size > bytes.capacity { bytes = [] }  // a bigger buffer, without copying the old bytes
        bytes.resizeUninitialized(to: member.size)
        if Locator.isURL(shard) {
            do throws(DecodeError) {
                if http == nil { http = try HTTPReader() }
                try http!.read(shard, offset: member.offset, into: &bytes)
            } catch {
                throw DecodeError(.io, path: locator, message: error.message)
            }
            return
        }
        let fd = try FileBytes.open(shard, naming: locator, what: " the shard")
        defer { Syscall.close(fd) }
        switch bytes.withUnsafeMutableBytes({ FileBytes.read(fd, into: $0, at: member.offset) }) {
        case .failure(let error): throw DecodeError(.io, path: locator, message: "cannot read the shard: \(error.reason)")
        case .success(let n) where n < member.size:
            throw DecodeError(
                .truncated, path: locator,
                message:
                    "the shard ends inside this member (\(n) of its \(member.size) bytes at offset \(member.offset)): the shard is truncated"
            )
        case .success: return
        }
    }

    /// Files whose size is not known up front (those in /proc report 0): read until end of file.
    private mutating func readToEnd(_ fd: Int32, path: String) throws(DecodeError) {
        bytes.removeAll(keepingCapacity: true)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = chunk.withUnsafeMutableBytes { buf in
                Result { () throws(SystemError) in try Syscall.retrying("read") { Glibc.read(fd, buf.baseAddress!, buf.count) } }
            }
            guard case .success(let n) = read else {
                if case .failure(let error) = read { throw DecodeError(.io, path: path, message: "cannot read: \(error.reason)") }
                return
            }
            if n == 0 { return }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}
