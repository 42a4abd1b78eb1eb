import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A shard's identity: what must not have changed for its index entries to hold. On disk its
/// size, modification time and inode; at a URL its size and the server's validators (ETag,
/// Last-Modified).
struct ShardIdentity: Equatable {
    var size: Int
    var stamp: String

    /// The identity of the shard at `path` (stat, or a HEAD request for a URL).
    static func of(_ path: String, http: inout HTTPReader?) throws(LoaderError) -> ShardIdentity {
        if Locator.isURL(path) {
            do throws(DecodeError) {
                if http == nil { http = try HTTPReader() }
                let head = try http!.head(path)
                return ShardIdentity(size: head.size, stamp: head.validator)
            } catch {
                throw LoaderError(.dataset, "cannot read the shard \(path): \(error.message)", path: path)
            }
        }
        var st = stat()
        guard Locator.withCString(path, { stat($0, &st) }) == 0 else {
            throw LoaderError(
                .dataset, "cannot read the shard \(Locator.display(path)): \(String(cString: strerror(errno)))", path: path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw LoaderError(.dataset, "the shard \(Locator.display(path)) is not a regular file", path: path)
        }
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        return ShardIdentity(size: Int(st.st_size), stamp: "mtime=\(mtime);inode=\(st.st_ino)")
    }

    /// The 64-bit token member locators carry (the decoded cache keys on it).
    func token(of path: String) -> UInt64 {
        DecodedCache.hash("\(path)\u{0}\(size)\u{0}\(stamp)").a
    }
}

/// A shard on disk, read with `pread`.
struct LocalShard: ShardBytes {
    let path: String
    let fd: Int32
    let size: Int

    init(path: String, size: Int) throws(LoaderError) {
        self.path = path
        self.size = size
        let fd = Locator.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            throw LoaderError(
                .dataset, "cannot open the shard \(Locator.display(path)): \(String(cString: strerror(errno)))", path: path)
        }
        self.fd = fd
    }

    func close() { Syscall.close(fd) }

    mutating func read(offset: Int, count: Int) throws(LoaderError) -> [UInt8] {
        let n = max(0, min(count, size - offset))
        var out = [UInt8](repeating: 0, count: n)
        switch out.withUnsafeMutableBytes({ FileBytes.read(fd, into: $0, at: offset) }) {
        case .success(n): return out
        case .success(let got):
            throw LoaderError(
                .dataset, "cannot read the shard \(Locator.display(path)) at offset \(offset + got): it ended early", path: path)
        case .failure(let error):
            throw LoaderError(
                .dataset, "cannot read the shard \(Locator.display(path)) at offset \(offset): \(error.reason)", path: path)
        }
    }
}

/// A shard at a URL, read with range requests through a read-ahead window.
struct RemoteShard: ShardBytes {
    let url: String
    let size: Int
    let http: HTTPReader
    static let window = 4 << 20
    private var windowStart = 0
    private var windowBytes: [UInt8] = []

    init(url: String, size: Int, http: HTTPReader) {
        self.url = url
        self.size = size
        self.http = http
    }

    mutating func read(offset: Int, count: Int) throws(LoaderError) -> [UInt8] {
        let end = min(offset + count, size)
        guard offset < end else { return [] }
        if offset < windowStart || end > windowStart + windowBytes.count {
            if count > RemoteShard.window { return try fetch(offset, end - offset) }
            windowStart = offset
            windowBytes = try fetch(offset, min(RemoteShard.window, size - offset))
        }
        return Array(windowBytes[(offset - windowStart)..<(end - windowStart)])
    }

    private func fetch(_ offset: Int, _ count: Int) throws(LoaderError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        do {
            try http.read(url, offset: offset, into: &out)
        } catch {
            throw LoaderError(.dataset, "cannot read the shard \(url): \(error.message)", path: url)
        }
        return out
    }
}
