import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a kept shard index front to back through a 1 MiB window, checksumming each block as it
/// passes: loading a million samples never holds the file's bytes beside them (the index file is
/// ~45 bytes per sample, the samples ~64).
///
/// The checksum is ``IndexStream/checksum(_:)``: chained over fixed 1 MiB blocks, so the writer
/// (one array) and this reader (one block at a time) compute the same value.
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
        var done = 0
        while done < count {
            let got = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(nextBlock + done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return false }
            done += got
        }
        hash = block.withUnsafeBytes { aug_checksum64($0.baseAddress, count, hash) }
        window = Array(window[at...]) + block
        at = 0
        nextBlock += count
        return true
    }

    /// The checksum of `bytes` as this reader computes it: each 1 MiB block's checksum seeds the next's.
    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var hash = ShardIndex.checksumSeed
        bytes.withUnsafeBytes { raw in
            var start = 0
            while start < raw.count {
                let count = min(block, raw.count - start)
                hash = aug_checksum64(raw.baseAddress! + start, count, hash)
                start += count
            }
        }
        return hash
    }
}
