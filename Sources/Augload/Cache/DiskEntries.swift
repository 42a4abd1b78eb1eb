import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The disk cache's files: one per prefix image, under a folder per prefix specification, that
/// later runs reuse only when the file and the pipeline still match.
///
/// `DIR/<spec hash>/SPEC` names the pipeline prefix and library version the folder is for;
/// `DIR/<spec hash>/<key hash>.entry` holds one image:
///
///     magic "AUGLDENT" | format version u32 | header bytes u32 | key hash 2×u64 | file size u64 |
///     mtime ns i64 | source width, height, width, height, format, path length: 6×u32 |
///     pixel bytes u64 | ctime ns i64 | inode u64 | checksum u64 | padding u64 | path | pixels
///
/// The key hash covers path, size, mtime, ctime, inode, the prefix specification and the library
/// version, and the path, size, mtime, ctime and inode are checked again field by field. The
/// ctime is what tells a file rewritten with its size and mtime kept (`touch -d`, `cp -p`,
/// `rsync -t`): no call sets it but the kernel, to the time of any change. The checksum covers the
/// header before it, the path and every pixel. Anything that does not match (another pipeline, a
/// file touched, rewritten or replaced, a truncated or bit-flipped entry, another format version) is a miss: the
/// sample is decoded and the entry rewritten — never read wrongly. Entries are written to a
/// temporary file in the same folder and renamed over the old one, so a writer killed midway
/// leaves at most a `tmp-*` file (removed when the next cache opens the folder), never a
/// half-written entry under an entry's name.
struct DiskEntries {
    static let magic: UInt64 = 0x544E_4544_4C47_5541  // "AUGLDENT"
    static let formatVersion: UInt32 = 2
    static let fixedHeaderBytes = 112
    /// Byte offset of the checksum in the header (which covers the bytes before it).
    static let checksumOffset = 96

    /// The folder of this pipeline's entries.
    let folder: String

    /// Opens (creating) the entries folder of `specification` under `root`; the loader process
    /// (`removeLeftovers`) also removes temporary files left by writers killed in earlier runs —
    /// not a worker, which could delete its siblings' files in the middle of a write.
    init(root: String, specification: String, specHash: CacheTable.Key, removeLeftovers: Bool) throws(LoaderError) {
        folder = root + "/" + hex(specHash.a)
        for dir in [root, folder] where mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw LoaderError(.system, "cannot create the cache folder \(dir): \(String(cString: strerror(errno)))")
        }
        let specPath = folder + "/SPEC"
        if access(specPath, F_OK) != 0 { try? DiskEntries.writeAtomically(Array(specification.utf8), to: specPath, in: folder) }
        if removeLeftovers, let d = opendir(folder) {
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = DiskEntries.entryName(e)
                if name.hasPrefix("tmp-") { unlink(folder + "/" + name) }
            }
        }
    }

    func path(for key: CacheTable.Key) -> String { folder + "/" + hex(key.a) + hex(key.b) + ".entry" }

    /// Reads and checks the entry for `key` into `buffer`; returns the image's description and
    /// where its pixels start in `buffer`, or nil when there is no valid entry.
    func read(
        _ key: CacheTable.Key, sourcePath: String, identity: FileIdentity, into buffer: inout FileBytes
    ) -> (info: Pipeline.PrefixInfo, pixelsAt: Int)? {
        guard (try? buffer.read(path: path(for: key))) != nil else { return nil }
        return buffer.bytes.withUnsafeBytes { raw -> (info: Pipeline.PrefixInfo, pixelsAt: Int)? in
            guard raw.count >= DiskEntries.fixedHeaderBytes, let p = raw.baseAddress else { return nil }
            func u32(_ o: Int) -> UInt32 { p.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
            func u64(_ o: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: o, as: UInt64.self) }
            guard u64(0) == DiskEntries.magic, u32(8) == DiskEntries.formatVersion,
                Int(u32(12)) == DiskEntries.fixedHeaderBytes, u64(16) == key.a, u64(24) == key.b,
                u64(32) == UInt64(identity.size), Int64(bitPattern: u64(40)) == identity.mtimeNanoseconds,
                Int64(bitPattern: u64(80)) == identity.ctimeNanoseconds, u64(88) == identity.inode
            else { return nil }
            let (sw, sh, w, h, format, pathLength) = (u32(48), u32(52), u32(56), u32(60), u32(64), Int(u32(68)))
            let pixelBytes = u64(72)
            guard w > 0, h > 0, w <= 1 << 20, h <= 1 << 20, format <= 1, pixelBytes == UInt64(w) * UInt64(h) * 3,
                UInt64(raw.count) == UInt64(DiskEntries.fixedHeaderBytes) + UInt64(pathLength) + pixelBytes
            else { return nil }
            let pathBytes = UnsafeRawBufferPointer(start: p + DiskEntries.fixedHeaderBytes, count: pathLength)
            guard pathBytes.elementsEqual(sourcePath.utf8) else { return nil }
            let pixelsAt = DiskEntries.fixedHeaderBytes + pathLength
            guard DiskEntries.checksum(p, pixelsAt: pixelsAt, pixelBytes: Int(pixelBytes)) == u64(DiskEntries.checksumOffset)
            else { return nil }
            let info = Pipeline.PrefixInfo(
                sourceWidth: Int(sw), sourceHeight: Int(sh), format: format == 1 ? .png : .jpeg, width: Int(w), height: Int(h))
            return (info: info, pixelsAt: pixelsAt)
        }
    }

    /// Writes the entry for `key` (temporary file, then rename). Failures only mean the entry is
    /// not stored: the sample is already made.
    func write(
        _ key: CacheTable.Key, sourcePath: String, identity: FileIdentity, info: Pipeline.PrefixInfo, pixels: [UInt8],
        scratch: inout [UInt8]
    ) -> Bool {
        let pathBytes = Array(sourcePath.utf8)
        let pixelsAt = DiskEntries.fixedHeaderBytes + pathBytes.count
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(pixelsAt + pixels.count)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { scratch.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { scratch.append(contentsOf: $0) } }
        u64(DiskEntries.magic)
        u32(DiskEntries.formatVersion)
        u32(UInt32(DiskEntries.fixedHeaderBytes))
        u64(key.a)
        u64(key.b)
        u64(UInt64(identity.size))
        u64(UInt64(bitPattern: identity.mtimeNanoseconds))
        for v in [info.sourceWidth, info.sourceHeight, info.width, info.height, info.format == .png ? 1 : 0, pathBytes.count] {
            u32(UInt32(v))
        }
        u64(UInt64(pixels.count))
        u64(UInt64(bitPattern: identity.ctimeNanoseconds))
        u64(identity.inode)
        u64(0)  // checksum, filled below
        u64(0)  // padding to the fixed header size
        precondition(scratch.count == DiskEntries.fixedHeaderBytes)
        scratch.append(contentsOf: pathBytes)
        scratch.append(contentsOf: pixels)
        let sum = scratch.withUnsafeBytes { DiskEntries.checksum($0.baseAddress!, pixelsAt: pixelsAt, pixelBytes: pixels.count) }
        withUnsafeBytes(of: sum.littleEndian) { s in for i in 0..<8 { scratch[DiskEntries.checksumOffset + i] = s[i] } }
        return (try? DiskEntries.writeAtomically(scratch, to: path(for: key), in: folder)) != nil
    }

    /// The size of the entry file of an image of `pixelBytes` made from `sourcePath`.
    static func entryLength(sourcePath: String, pixelBytes: Int) -> Int {
        fixedHeaderBytes + sourcePath.utf8.count + pixelBytes
    }

    /// The bytes of the `*.entry` files in the folders under `root` (every pipeline's): what a
    /// bounded disk cache already holds when a loader starts.
    static func entryBytes(under root: String) -> Int {
        var total = 0
        guard let top = opendir(root) else { return 0 }
        defer { closedir(top) }
        while let e = readdir(top) {
            let name = entryName(e)
            guard name != "." && name != "..", let d = opendir(root + "/" + name) else { continue }
            defer { closedir(d) }
            while let f = readdir(d) {
                let file = entryName(f)
                var st = stat()
                if file.hasSuffix(".entry") && stat(root + "/" + name + "/" + file, &st) == 0 { total += Int(st.st_size) }
            }
        }
        return total
    }

    private static func entryName(_ e: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    /// The checksum of an entry: its header up to the checksum field, then path and pixels.
    static func checksum(_ p: UnsafeRawPointer, pixelsAt: Int, pixelBytes: Int) -> UInt64 {
        let head = aug_checksum64(p, checksumOffset, 0x6175_676C_6F61_6400)
        let path = aug_checksum64(p + fixedHeaderBytes, pixelsAt - fixedHeaderBytes, head)
        return aug_checksum64(p + pixelsAt, pixelBytes, path)
    }

    /// Writes `bytes` to a temporary file in `folder`, then renames it to `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String, in folder: String) throws(LoaderError) {
        let temporary = folder + "/tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try Sys.call("create \(temporary)") { open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        var failure: LoaderError?
        do {
            try Sys.writeAll(fd, bytes)
        } catch {
            failure = error
        }
        Sys.close(fd)
        if failure == nil {
            do {
                try Sys.call("rename \(temporary)") { rename(temporary, path) }
            } catch {
                failure = error
            }
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}

/// What identifies a file's contents without reading it: size, modification time, status-change
/// time and inode. The ctime catches a rewrite that kept size and mtime (a tool can set mtime,
/// not ctime); the inode, a file replaced by another (rename over it). A `chmod` or a new hard link
/// also moves the ctime: such a file is decoded again once, never misread.
struct FileIdentity: Equatable {
    var size: Int
    var mtimeNanoseconds: Int64
    var ctimeNanoseconds: Int64
    var inode: UInt64

    /// The identity of the file at `path`, or nil when it cannot be stat'ed or is not a regular
    /// file. A shard member's is its locator's: its size, its shard's identity token (checked
    /// against the shard when the index was loaded) and its offset.
    init?(path: String) {
        if path.utf8.contains(0), let member = Locator.parse(path).member {
            size = member.size
            mtimeNanoseconds = Int64(bitPattern: member.token)
            ctimeNanoseconds = 0
            inode = UInt64(member.offset)
            return
        }
        var st = stat()
        guard Locator.withCString(path, { stat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        size = Int(st.st_size)
        mtimeNanoseconds = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNanoseconds = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        inode = UInt64(st.st_ino)
    }
}

/// 16 lowercase hex digits.
func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
