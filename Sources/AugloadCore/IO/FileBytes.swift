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
        if path.utf8.contains(0), let member = Locator.parse(path).member {
            try read(member: member, of: Locator.parse(path).path, locator: path)
            return
        }
        let fd: Int32
        do {
            fd = try Syscall.retrying("open") { Locator.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) } }
        } catch {
            throw DecodeError(.io, path: path, message: "cannot open: \(error.reason)")
        }
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
        switch fill(fd, count: size, at: nil) {
        case .failure(let error): throw DecodeError(.io, path: path, message: "cannot read: \(error.reason)")
        case .success(let n): if n < size { bytes.removeLast(size - n) }
        }
    }
}

extension FileBytes {
    /// Reads up to `count` bytes of `fd` into `bytes` — with `pread` from `offset`, or with `read`
    /// from the file's position when it is nil — and returns how many it got (fewer at end of file).
    private mutating func fill(_ fd: Int32, count: Int, at offset: Int?) -> Result<Int, SystemError> {
        bytes.withUnsafeMutableBytes { buf -> Result<Int, SystemError> in
            var done = 0
            while done < count {
                do throws(SystemError) {
                    let n = try Syscall.retrying("read") {
                        guard let offset else { return Glibc.read(fd, buf.baseAddress! + done, count - done) }
                        return pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
                    }
                    if n == 0 { break }
                    done += n
                } catch {
                    return .failure(error)
                }
            }
            return .success(done)
        }
    }

    /// Reads a shard member's `size` bytes at `offset`: `pread` from a shard on disk, a range
    /// request for a URL. A shard shorter than its index says is an error naming shard and member.
    private mutating func read(member: Locator.Member, of shard: String, locator: String) throws(DecodeError) {
        bytes.resizeUninitialized(to: member.size)
        if Locator.isURL(shard) {
            do throws(DecodeError) {
                if http == nil { http = try HTTPReader() }
                let reader = http!
                let failure = bytes.withUnsafeMutableBytes { buf -> DecodeError? in
                    do throws(DecodeError) {
                        try reader.read(shard, offset: member.offset, into: buf)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { throw failure }
            } catch {
                throw DecodeError(.io, path: locator, message: error.message)
            }
            return
        }
        let fd: Int32
        do {
            fd = try Syscall.retrying("open") { Locator.withCString(shard) { open($0, O_RDONLY | O_CLOEXEC) } }
        } catch {
            throw DecodeError(.io, path: locator, message: "cannot open the shard: \(error.reason)")
        }
        defer { Syscall.close(fd) }
        switch fill(fd, count: member.size, at: member.offset) {
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
