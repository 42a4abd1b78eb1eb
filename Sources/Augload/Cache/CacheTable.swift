import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The decoded cache's shared memory: counters, the entry table, and (for a RAM cache) the prefix
/// images themselves — one memfd created by the loader and mapped by every worker (fd
/// ``WorkerFD/cache``), so there is one copy of each image whatever the worker count.
///
/// Layout: a 4 KiB header (magic, kind, counters, the data bound and its allocation cursor), then
/// `tableCount` entries of 64 bytes, then the data area. An entry is `empty`, `writing`, `ready`
/// or `abandoned`, changed only by atomic operations (``aug_atomic_cas_u32``):
///
///     empty ──CAS──► writing ──(fields and pixels written, release store)──► ready
///                      └──(no room for the pixels)──► abandoned
///
/// A reader trusts an entry's fields only after an acquire load saw `ready`, and a `ready` entry
/// never changes again: so a worker SIGKILLed while writing leaves an entry stuck in `writing`,
/// which nobody reads (its key is retried in a later entry; its data bytes are lost). Entries are
/// found by open addressing (linear probing from the key's hash) and never removed, so a probe
/// stops at the first `empty` entry. The memfd has no name: nothing is left behind after a crash.
final class CacheTable: @unchecked Sendable {
    enum State: UInt32 {
        case empty = 0
        case writing = 1
        case ready = 2
        case abandoned = 3
    }

    /// The 128-bit hash of an entry's full key (path, size, mtime, prefix specification, library version).
    struct Key: Hashable {
        var a: UInt64
        var b: UInt64
    }

    /// A `ready` entry, read once.
    struct Entry {
        var index: Int
        var info: Pipeline.PrefixInfo
        /// Offset of the pixels in the data area (RAM) or 0 (disk).
        var offset: Int
        var length: Int
    }

    static let headerBytes = 4096
    static let entryBytes = 64
    static let magic: UInt64 = 0x3148_4341_4347_5541  // "AUGCACH1"

    // Header fields (byte offsets).
    private enum H {
        static let magic = 0, kind = 8, hits = 16, misses = 24, bypassed = 32, bytes = 40, entries = 48
        static let capacity = 56, cursor = 64, tableCount = 72, notStored = 80, dataOffset = 88, atStart = 96
    }
    // Entry fields (byte offsets within an entry).
    private enum E {
        static let state = 0, keyA = 8, keyB = 16, offset = 24, length = 32
        static let sourceWidth = 40, sourceHeight = 44, width = 48, height = 52, format = 56
    }

    let fd: Int32
    let base: UnsafeMutableRawPointer
    let mappedBytes: Int
    let tableCount: Int
    let dataOffset: Int
    /// The bound: bytes of the data area (RAM), or of a folder's entry files (disk; 0: no bound).
    let capacity: Int
    let isRAM: Bool
    private let ownsFD: Bool

    /// Creates the region in the loader process: a table for `samples` entries (twice as many
    /// slots, a power of two) and, for RAM, `capacity` bytes of data (pages are allocated only when
    /// written). For disk, `capacity` bounds the folder's entry files (0: unbounded), of which
    /// `bytesAtStart` are already there.
    init(samples: Int, ram: Bool, capacity: Int, bytesAtStart: Int = 0) throws(LoaderError) {
        var count = 64
        while count < 2 * samples { count *= 2 }
        let dataOffset = CacheTable.headerBytes + ((count * CacheTable.entryBytes + 4095) & ~4095)
        let total = dataOffset + (ram ? capacity : 0)
        (fd, base) = try SharedSlots.create("augload-cache", bytes: total, what: "the decoded cache")
        mappedBytes = total
        tableCount = count
        self.dataOffset = dataOffset
        self.capacity = capacity
        isRAM = ram
        ownsFD = true
        store(H.cursor, UInt64(ram ? 0 : min(bytesAtStart, capacity)))
        store(H.atStart, UInt64(ram ? 0 : bytesAtStart))
        store(H.magic, CacheTable.magic)
        store(H.kind, ram ? 1 : 2)
        store(H.capacity, UInt64(self.capacity))
        store(H.tableCount, UInt64(count))
        store(H.dataOffset, UInt64(dataOffset))
    }

    /// Maps the region the loader made, in a worker (fd ``WorkerFD/cache``).
    init(attaching fd: Int32) throws(LoaderError) {
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= CacheTable.headerBytes else {
            throw LoaderError(.system, "the decoded cache's shared memory (fd \(fd)) is missing")
        }
        let total = Int(st.st_size)
        base = try SharedSlots.map(fd: fd, bytes: total)
        self.fd = fd
        mappedBytes = total
        ownsFD = false
        let header = base
        func field(_ offset: Int) -> Int { Int(header.load(fromByteOffset: offset, as: UInt64.self)) }
        guard header.load(fromByteOffset: H.magic, as: UInt64.self) == CacheTable.magic else {
            munmap(base, total)
            throw LoaderError(.system, "fd \(fd) is not the decoded cache's shared memory")
        }
        tableCount = field(H.tableCount)
        dataOffset = field(H.dataOffset)
        capacity = field(H.capacity)
        isRAM = field(H.kind) == 1
        precondition(tableCount > 0 && tableCount & (tableCount - 1) == 0 && dataOffset + (isRAM ? capacity : 0) <= total)
    }

    deinit {
        munmap(base, mappedBytes)
        if ownsFD { Sys.close(fd) }
    }

    // MARK: Counters

    enum Counter { case hits, misses, bypassed, notStored }

    func count(_ counter: Counter) {
        let offset: Int
        switch counter {
        case .hits: offset = H.hits
        case .misses: offset = H.misses
        case .bypassed: offset = H.bypassed
        case .notStored: offset = H.notStored
        }
        _ = aug_atomic_add_u64(base + offset, 1)
    }

    /// The counters as they are now.
    var statistics: CacheStatistics {
        var s = CacheStatistics()
        s.kind = isRAM ? "ram" : "disk"
        s.hits = Int(aug_atomic_load_u64(base + H.hits))
        s.misses = Int(aug_atomic_load_u64(base + H.misses))
        s.bypassed = Int(aug_atomic_load_u64(base + H.bypassed))
        s.bytes = Int(aug_atomic_load_u64(base + H.bytes))
        s.entries = Int(aug_atomic_load_u64(base + H.entries))
        s.notStored = Int(aug_atomic_load_u64(base + H.notStored))
        s.capacityBytes = capacity
        s.bytesAtStart = Int(aug_atomic_load_u64(base + H.atStart))
        return s
    }

    // MARK: Entries

    private func entry(_ i: Int) -> UnsafeMutableRawPointer { base + CacheTable.headerBytes + i * CacheTable.entryBytes }

    /// The pixels of a RAM entry.
    func pixels(of entry: Entry) -> UnsafePointer<UInt8> {
        UnsafePointer((base + dataOffset + entry.offset).assumingMemoryBound(to: UInt8.self))
    }

    /// The `ready` entry for `key`, or nil.
    func lookup(_ key: Key) -> Entry? {
        var i = Int(truncatingIfNeeded: key.a) & (tableCount - 1)
        for _ in 0..<tableCount {
            let e = entry(i)
            switch aug_atomic_load_u32(e) {
            case State.empty.rawValue:
                return nil
            case State.ready.rawValue
            where e.load(fromByteOffset: E.keyA, as: UInt64.self) == key.a
                && e.load(fromByteOffset: E.keyB, as: UInt64.self) == key.b:
                return read(i)
            default:
                break
            }
            i = (i + 1) & (tableCount - 1)
        }
        return nil
    }

    private func read(_ i: Int) -> Entry {
        let e = entry(i)
        func u32(_ o: Int) -> Int { Int(e.load(fromByteOffset: o, as: UInt32.self)) }
        let info = Pipeline.PrefixInfo(
            sourceWidth: u32(E.sourceWidth), sourceHeight: u32(E.sourceHeight),
            format: u32(E.format) == 1 ? .png : .jpeg, width: u32(E.width), height: u32(E.height))
        return Entry(
            index: i, info: info, offset: Int(e.load(fromByteOffset: E.offset, as: UInt64.self)),
            length: Int(e.load(fromByteOffset: E.length, as: UInt64.self)))
    }

    /// Outcome of ``insert(_:info:pixels:)``.
    enum Insertion: Equatable {
        case stored
        /// Another process stored the same key meanwhile (its copy is as good).
        case present
        /// No room in the data area (RAM bound reached) or the table, or the memory could not be had.
        case full
    }

    /// Claims an entry for `key` and makes it `ready` with `info`; for RAM, reserves
    /// `info.pixelBytes` of data and writes `pixels` there first (a disk cache passes nil: its
    /// pixels live in files, the entry only counts them for this run).
    func insert(_ key: Key, info: Pipeline.PrefixInfo, pixels: UnsafeRawBufferPointer?) -> Insertion {
        var i = Int(truncatingIfNeeded: key.a) & (tableCount - 1)
        var probes = 0
        while probes < tableCount {
            let e = entry(i)
            let state = aug_atomic_load_u32(e)
            if state == State.ready.rawValue && e.load(fromByteOffset: E.keyA, as: UInt64.self) == key.a
                && e.load(fromByteOffset: E.keyB, as: UInt64.self) == key.b
            {
                return .present
            }
            if state == State.empty.rawValue {
                guard aug_atomic_cas_u32(e, State.empty.rawValue, State.writing.rawValue) != 0 else { continue }  // lost the race: look again
                return fill(i, key: key, info: info, pixels: pixels)
            }
            i = (i + 1) & (tableCount - 1)
            probes += 1
        }
        return .full
    }

    /// Fills a claimed (`writing`) entry and publishes it.
    private func fill(_ i: Int, key: Key, info: Pipeline.PrefixInfo, pixels: UnsafeRawBufferPointer?) -> Insertion {
        let e = entry(i)
        let length = info.pixelBytes
        var offset = 0
        if isRAM {
            guard let pixels, pixels.count == length, let reserved = reserve(length, rounded: true),
                writeData(pixels, at: dataOffset + reserved)
            else {
                aug_atomic_store_u32(e, State.abandoned.rawValue)
                return .full
            }
            offset = reserved
        }
        e.storeBytes(of: key.a, toByteOffset: E.keyA, as: UInt64.self)
        e.storeBytes(of: key.b, toByteOffset: E.keyB, as: UInt64.self)
        e.storeBytes(of: UInt64(offset), toByteOffset: E.offset, as: UInt64.self)
        e.storeBytes(of: UInt64(length), toByteOffset: E.length, as: UInt64.self)
        e.storeBytes(of: UInt32(info.sourceWidth), toByteOffset: E.sourceWidth, as: UInt32.self)
        e.storeBytes(of: UInt32(info.sourceHeight), toByteOffset: E.sourceHeight, as: UInt32.self)
        e.storeBytes(of: UInt32(info.width), toByteOffset: E.width, as: UInt32.self)
        e.storeBytes(of: UInt32(info.height), toByteOffset: E.height, as: UInt32.self)
        e.storeBytes(of: UInt32(info.format == .png ? 1 : 0), toByteOffset: E.format, as: UInt32.self)
        aug_atomic_store_u32(e, State.ready.rawValue)
        _ = aug_atomic_add_u64(base + H.bytes, UInt64(length))
        _ = aug_atomic_add_u64(base + H.entries, 1)
        _checkInvariants()
        return .stored
    }

    /// Reserves `length` bytes (64-byte aligned when `rounded`) of the bound: of the RAM data area,
    /// or of a bounded disk cache's folder before an entry file is written. Nil when they do not
    /// fit; always an offset of 0 for an unbounded disk cache.
    func reserve(_ length: Int, rounded: Bool) -> Int? {
        if !isRAM && capacity == 0 { return 0 }
        let rounded = UInt64(rounded ? (length + 63) & ~63 : length)
        while true {
            let cursor = aug_atomic_load_u64(base + H.cursor)
            guard cursor + rounded <= UInt64(capacity) else { return nil }
            if aug_atomic_cas_u64(base + H.cursor, cursor, cursor + rounded) != 0 { return Int(cursor) }
        }
    }

    /// Copies `pixels` into the memfd at byte `position` with `pwrite`, not through the mapping:
    /// the kernel fills the fresh shmem pages directly, while a store through the mapping also
    /// installs a page-table entry per 4 KiB in this process (1.7× the time of `pwrite` on this
    /// VM, `Scripts/cache/fresh_pages.c`). Readers see the bytes through their mappings of the
    /// same pages once the entry is `ready`. False when the memory cannot be had (ENOMEM, ENOSPC).
    private func writeData(_ pixels: UnsafeRawBufferPointer, at position: Int) -> Bool {
        var done = 0
        while done < pixels.count {
            let n = pwrite(fd, pixels.baseAddress! + done, pixels.count - done, off_t(position + done))
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// The books balance: every `ready` entry's pixels lie inside the reserved part of the data
    /// area and no two overlap; ready entries and their bytes match the counters (a `ready`
    /// entry never changes, so this holds while other processes write). Compiled with
    /// `-D AUGLOAD_INVARIANTS`.
    func _checkInvariants() {
        #if AUGLOAD_INVARIANTS
            // Read the counter first: entries only ever become ready, so what was counted before
            // the scan is at most what the scan finds (read after it, another process could have
            // published and counted an entry the scan had already passed).
            let counted = Int(aug_atomic_load_u64(base + H.bytes))
            var ranges: [(Int, Int)] = []
            var bytes = 0
            for i in 0..<tableCount where aug_atomic_load_u32(entry(i)) == State.ready.rawValue {
                let r = read(i)
                precondition(r.length == r.info.pixelBytes, "entry \(i) holds \(r.length) bytes for \(r.info)")
                bytes += r.length
                if isRAM { ranges.append((r.offset, r.offset + r.length)) }
            }
            // Read the cursor after the scan: an entry is reserved before it becomes ready, so every
            // entry the scan saw lies below it (read before, another process could have reserved and
            // published an entry since: a false alarm that once crashed a worker in CI).
            let cursor = Int(aug_atomic_load_u64(base + H.cursor))
            precondition(cursor <= capacity || (!isRAM && capacity == 0), "the data cursor \(cursor) is past the bound \(capacity)")
            for (i, r) in ranges.enumerated() { precondition(r.1 <= cursor, "entry \(i) lies past the data cursor \(cursor)") }
            ranges.sort { $0.0 < $1.0 }
            for (a, b) in zip(ranges, ranges.dropFirst()) { precondition(a.1 <= b.0, "two entries share data bytes") }
            // Entries become ready before they are counted: the counters may lag, never lead.
            precondition(counted <= bytes, "more bytes counted (\(counted)) than stored (\(bytes))")
        #endif
    }

    private func store(_ offset: Int, _ value: UInt64) { base.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
}
