import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The ring of batch slots: one `memfd_create` region shared by the loader and its workers (or a
/// private anonymous mapping when everything runs in-process).
///
/// Why memfd: it is not limited by `/dev/shm`'s size and has no name, so nothing is left behind
/// after a crash — the memory goes away with the last process that maps it.
final class SharedSlots: @unchecked Sendable {
    let layout: SlotLayout
    let count: Int
    /// The memfd, or -1 for a private mapping.
    let fd: Int32
    let base: UnsafeMutableRawPointer
    var byteCount: Int { layout.slotSize * count }

    /// Creates `count` slots. `shared` selects a memfd (for workers) over private memory.
    init(layout: SlotLayout, count: Int, shared: Bool) throws(LoaderError) {
        self.layout = layout
        self.count = count
        let bytes = layout.slotSize * count
        if shared {
            (fd, base) = try SharedSlots.create("augload-slots", bytes: bytes, what: "the slot memory")
        } else {
            fd = -1
            base = try SharedSlots.map(fd: -1, bytes: bytes)
        }
    }

    /// A new memfd of `bytes` (pages allocated only when written) mapped shared: what workers
    /// inherit. `what` names it in errors.
    static func create(_ name: String, bytes: Int, what: String) throws(LoaderError) -> (
        fd: Int32, base: UnsafeMutableRawPointer
    ) {
        let fd = try Sys.call("memfd_create for \(what)") { aug_memfd_create(name) }
        do {
            try Sys.call("ftruncate of \(what) (\(bytes) bytes)") { ftruncate(fd, off_t(bytes)) }
            return (fd, try SharedSlots.map(fd: fd, bytes: bytes))
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    /// Maps `bytes` of `fd` shared (or anonymous private memory when fd is -1).
    static func map(fd: Int32, bytes: Int) throws(LoaderError) -> UnsafeMutableRawPointer {
        let flags = fd >= 0 ? MAP_SHARED : (MAP_PRIVATE | MAP_ANONYMOUS)
        return try Sys.pointer("mmap of \(bytes) bytes of slot memory", failed: MAP_FAILED) {
            mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, fd, 0)
        }
    }

    /// Maps in every page of slot `i` for this process in one call (allocating them on the slot's
    /// first use anywhere), so the batch written there pays no page faults. A worker does it once
    /// per slot it writes; the loader only for the first tasks' slots, while the workers start.
    func prefault(slot i: Int) {
        aug_populate_write(slot(i), layout.slotSize)
    }

    func slot(_ i: Int) -> UnsafeMutableRawPointer {
        precondition(i >= 0 && i < count, "slot \(i) out of range")
        return base + i * layout.slotSize
    }

    deinit {
        munmap(base, byteCount)
        Sys.close(fd)
    }
}
