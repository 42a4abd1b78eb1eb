import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a kept shard index front to back through a 1 MiB window, checksumming each block as it
/// passes: loading a million samples never holds the file's bytes beside them (the index file is
/// ~45 bytes per sample, the samples ~64).
///
/// The checksum is chained over fixed 1 MiB blocks (each block's checksum seeds the next's), so
/// ``IndexSink`` writing and this reader reading a block at a time compute the same value.
struct IndexStream {
    static let block = 1 << 20

    private let fd: Int32
    /// Bytes before the trailing 8-byte checksum.
    let bodyCount: Int
    private var window: [UInt8] = []
    private var at = 0  // the next unread byte of `window`
    private var nextBlock = 0  // file offset of the next block to load
    private(set) var hash = ShardIndex.checksumSeed

    /// Opens `path`; nil when it is missing, unreadable or too short to hold a checksum.
    init?(path: String) {
        let fd = Locator.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 8 else {
            Syscall.close(fd)
            return nil
        }
        self.fd = fd
        bodyCount = Int(st.st_size) - 8
    }

    func close() { Syscall.close(fd) }

    /// True when the whole body was read and the stored checksum matches it.
    mutating func checksumMatches() -> Bool {
        while nextBlock < bodyCount {
            guard load() else { return false }
        }
        var stored: UInt64 = 0
        guard withUnsafeMutableBytes(of: &stored, { pread(fd, $0.baseAddress, 8, off_t(bodyCount)) }) == 8 else { return false }
        return UInt64(littleEndian: stored) == hash
    }

    mutating func int() throws(LoaderError) -> Int {
        let bytes = try take(8)
        return bytes.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }
    }

    mutating func string() throws(LoaderError) -> String {
        let n = try int()
        guard n >= 0, n <= 1 << 24 else { throw LoaderError(.system, "a corrupt shard index") }
        return String(decoding: try take(n), as: UTF8.self)
    }

    /// The next `n` bytes of the body (loading blocks as needed).
    private mutating func take(_ n: Int) throws(LoaderError) -> ArraySlice<UInt8> {
        while window.count - at < n {
            guard nextBlock < bodyCount, load() else { throw LoaderError(.system, "a truncated shard index") }
        }
        defer { at += n }
        return window[at..<(at + n)]
    }

    /// Appends the next block to the window (dropping what was read) and chains it into the hash.
    private mutating func load() -> Bool {
        let count = min(IndexStream.block, bodyCount - nextBlock)
        var block = [UInt8](repeating: 0, count: count)
        guard case .success(count) = block.withUnsafeMutableBytes({ FileBytes.read(fd, into: $0, at: nextBlock) }) else {
            return false
        }
        hash = block.withUnsafeBytes { aug_checksum64($0.baseAddress, count, hash) }
        window = Array(window[at...]) + block
        at = 0
        nextBlock += count
        return true
    }
}

/// Writes a shard index front to back, 1 MiB at a time, chaining the same block checksum
/// ``IndexStream`` verifies, into a temporary file renamed over the index when complete (a run
/// killed midway leaves no half index under its name).
struct IndexSink {
    private let file: TemporaryFile
    private var pending: [UInt8] = []
    private var hash = ShardIndex.checksumSeed
    private var failed = false

    /// Creates `file`'s temporary sibling; nil when the folder cannot be written.
    init?(file: String) {
        let dir = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? "."
        guard (try? makeFolders(dir)) != nil, let created = try? TemporaryFile(replacing: file) else { return nil }
        self.file = created
    }

    /// Appends `bytes`, writing every complete block.
    mutating func append(_ bytes: [UInt8]) {
        pending += bytes
        var start = 0
        while pending.count - start >= IndexStream.block {
            write(pending[start..<(start + IndexStream.block)])
            start += IndexStream.block
        }
        if start > 0 { pending.removeFirst(start) }
    }

    /// Writes the last block and the checksum, then renames the file into place.
    mutating func finish() {
        if !pending.isEmpty { write(pending[...]) }
        var stored = hash.littleEndian
        if !failed { failed = (try? file.write(withUnsafeBytes(of: &stored) { Array($0) })) == nil }
        if failed { file.abandon() } else { try? file.commit() }
    }

    private mutating func write(_ block: ArraySlice<UInt8>) {
        hash = block.withUnsafeBytes { aug_checksum64($0.baseAddress, $0.count, hash) }
        if !failed { failed = (try? file.write(Array(block))) == nil }
    }
}
