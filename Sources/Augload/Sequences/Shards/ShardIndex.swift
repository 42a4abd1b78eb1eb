import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The samples of a set of WebDataset shards — shard, data offset, size, key and label of each
/// image — read once from the tar headers and kept, so a later run starts without scanning.
///
/// WebDataset's convention: a sample is the consecutive members sharing a key (the name up to the
/// first dot of its base name, folders kept); its image is the `.jpg`, `.jpeg` or `.png` member (any
/// case); its label is the text of the member with the `label` extension — an integer for `cls`,
/// a class name otherwise (names sorted by byte order become labels 0, 1, …).
///
/// The kept file (``ShardIndex/folder``, named by a hash of the shard list and the label
/// extension) holds every shard's identity (size and mtime/inode, or a URL's size and ETag/
/// Last-Modified) and a checksum of the whole; it is used only when every shard's identity still
/// matches and the checksum holds. A stale, damaged or foreign file is rebuilt, never trusted.
struct ShardIndex {
    var shards: [String]
    var identities: [ShardIdentity]
    /// Each image as the dataset holds it (the shard's path, its label, the member): built here
    /// directly, so loading a million samples never holds a second array of them.
    var samples: [ImageFolder.Sample]
    var classes: [String]
    /// Keys that had no image member: what the dataset reports.
    var notes: [String]
    /// Damaged tar headers (the scan resumed after each): an error unless bad files are skipped.
    var damage: [String] = []
    /// True when this index was read from its kept file rather than built.
    var reused = false

    static let magic = 0x3158_4449_4C47_5541  // "AUGLIDX1"
    static let formatVersion = 3
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// `jpg`, `jpeg` or `png` in any case.
    static func isImageExtension(_ ext: Substring) -> Bool {
        ext.utf8.count <= 4 && imageExtensions.contains(ext.lowercased())
    }

    /// Where indexes are kept: `$AUGLOAD_INDEX_DIR`, else `$XDG_CACHE_HOME/augload/index`, else
    /// `~/.cache/augload/index`.
    static var folder: String {
        if let dir = getenv("AUGLOAD_INDEX_DIR").map({ String(cString: $0) }), !dir.isEmpty { return dir }
        if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), !xdg.isEmpty { return xdg + "/augload/index" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/tmp"
        return home + "/.cache/augload/index"
    }

    /// The index of `shards`: the kept one when it still holds, else built from the headers and kept.
    static func load(shards: [String], label: String) throws(LoaderError) -> ShardIndex {
        if shards.contains(where: Locator.isURL), let reason = HTTPReader.unavailableReason {
            throw LoaderError(.dataset, reason, path: shards.first(where: Locator.isURL))
        }
        let identities = try identitiesOf(shards)
        let file = folder + "/" + hex(DecodedCache.hash(shards.joined(separator: "\u{0}") + "\u{0}" + label).a) + ".index"
        if var kept = read(file, shards: shards, identities: identities, label: label) {
            kept.reused = true
            return kept
        }
        let index = try build(shards: shards, identities: identities, label: label)
        index.keep(at: file, label: label)
        return index
    }

    // MARK: Building

    static func build(shards: [String], identities: [ShardIdentity], label: String) throws(LoaderError) -> ShardIndex {
        var index = ShardIndex(shards: shards, identities: identities, samples: [], classes: [], notes: [])
        var parts = try scanAll(shards: shards, identities: identities, label: label)
        // Each shard's samples were kept apart, then moved into one array sized once: a million
        // samples never sit in a half-empty doubled array beside the one it grew from.
        index.samples.reserveCapacity(parts.reduce(0) { $0 + $1.samples.count })
        var labelTexts: [String?] = []
        var withoutImage = 0
        for k in parts.indices {
            index.samples.append(contentsOf: parts[k].samples)
            labelTexts += parts[k].texts
            withoutImage += parts[k].withoutImage
            index.damage += parts[k].damage
            parts[k] = ShardPart()
            // Hand the part's pages back: glibc keeps freed heap memory resident, and the parts
            // together are as large as the array they are moved into.
            if k % 8 == 7 { aug_release_free_memory() }
        }
        aug_release_free_memory()
        if withoutImage > 0 {
            index.notes.append("\(withoutImage) sample(s) without a .jpg, .jpeg or .png member were left out")
        }
        guard !index.samples.isEmpty else {
            throw LoaderError(
                .dataset,
                "no images in the shards (\(shards.count) shard(s)): expected members KEY.jpg|.jpeg|.png with KEY.\(label)",
                path: shards.first)
        }
        try index.assignLabels(labelTexts, label: label)
        return index
    }

    /// What one shard's scan found: its samples in order (labels set for `cls`), their label
    /// texts for another label member (nil for a truncated sample), the keys without an image
    /// and the damaged headers.
    struct ShardPart {
        var samples: [ImageFolder.Sample] = []
        var texts: [String?] = []
        var withoutImage = 0
        var damage: [String] = []
    }

    /// Scans every shard, several at once (one thread per core, at most 8, each with its own
    /// HTTP connection): the parts in shard order, or the first shard's error in that order.
    static func scanAll(shards: [String], identities: [ShardIdentity], label: String) throws(LoaderError) -> [ShardPart] {
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return try inParallel(shards.count, threads: min(cores, 8)) { (s, http) throws(LoaderError) in
            try scan(shard: shards[s], identity: identities[s], label: label, http: &http)
        }
    }

    /// Every shard's identity: stat on disk; for URLs a HEAD request each, 16 at once (they wait
    /// on the network, not the cores), so thousands of URL shards do not pay a round trip each in
    /// series on every start.
    static func identitiesOf(_ shards: [String]) throws(LoaderError) -> [ShardIdentity] {
        let threads = shards.contains(where: Locator.isURL) ? 16 : 1
        return try inParallel(shards.count, threads: threads) { (s, http) throws(LoaderError) in
            try ShardIdentity.of(shards[s], http: &http)
        }
    }

    /// `body(i)` for every i in 0..<count on up to `threads` threads (this one included), each
    /// with its own HTTP connection: the results in order, or the first error in that order.
    static func inParallel<T>(
        _ count: Int, threads: Int, _ body: @escaping (Int, inout HTTPReader?) throws(LoaderError) -> T
    ) throws(LoaderError) -> [T] {
        let work = ParallelWork<T>(count)
        let runOne = { (http: inout HTTPReader?) -> Bool in
            guard
                let i = work.lock.withLock({ () -> Int? in
                    defer { work.next += 1 }
                    return work.next < count ? work.next : nil
                })
            else { return false }
            let result = Result { () throws(LoaderError) in try body(i, &http) }
            work.lock.withLock { work.results[i] = result }
            return true
        }
        var started: [pthread_t] = []
        for _ in 1..<max(1, min(count, threads)) {
            guard
                let thread = try? Threads.start(
                    "augload shards",
                    {
                        var http: HTTPReader?
                        while runOne(&http) {}
                    })
            else { break }
            started.append(thread)
        }
        var http: HTTPReader?
        while runOne(&http) {}  // this thread takes its share too
        for thread in started { pthread_join(thread, nil) }
        var results: [T] = []
        for result in work.results { results.append(try result!.get()) }
        return results
    }

    /// Reads one shard's headers (and label members) into its part.
    static func scan(shard: String, identity: ShardIdentity, label: String, http: inout HTTPReader?) throws(LoaderError)
        -> ShardPart
    {
        var part = ShardPart()
        let size = identity.size
        let token = identity.token(of: shard)
        var reader: any ShardBytes
        if Locator.isURL(shard) {
            if http == nil { http = try readerOrThrow(shard) }
            reader = RemoteShard(url: shard, size: size, http: http!)
        } else {
            reader = try LocalShard(path: shard, size: size)
        }
        defer { (reader as? LocalShard)?.close() }
        let scan = try TarScanner.scan(&reader)
        let members = scan.members
        for d in scan.damage {
            part.damage.append(
                "\(Locator.display(shard)): damaged tar header at offset \(d.offset)"
                    + (d.after.map { " (after member \(Locator.display($0)))" } ?? "")
                    + ": \(d.reason); skipped to the next valid header")
        }
        // Group consecutive members by key.
        var k = 0
        while k < members.count {
            let key = ShardIndex.key(of: members[k].name)
            var image: TarMember?
            var labelMember: TarMember?
            var j = k
            while j < members.count, ShardIndex.key(of: members[j].name) == key {
                let ext = ShardIndex.extensionOf(members[j].name)
                if ext == label {
                    labelMember = members[j]
                } else if image == nil, ShardIndex.isImageExtension(ext) {
                    image = members[j]
                }
                j += 1
            }
            k = j
            guard let image else {
                part.withoutImage += 1
                continue
            }
            if image.offset + image.size > size {
                // The shard ends inside the image: indexed as declared, so reading it is the
                // error naming shard and member (replaced under skip). Its label cannot be
                // read and is never used: a truncated member never decodes.
                if label != "cls" { part.texts.append(nil) }
                part.samples.append(ShardIndex.sample(shard, token, label: 0, image.offset, image.size, image.name))
                continue
            }
            guard let labelMember else {
                throw LoaderError(
                    .dataset,
                    "\(Locator.display(shard)): sample \(Locator.display(String(key))) has no .\(label) member (its label); give --label EXT for another member",
                    path: shard)
            }
            if labelMember.offset + labelMember.size > size {
                throw LoaderError(
                    .badFile,
                    "\(Locator.display(shard)) is truncated: member \(Locator.display(labelMember.name)) ends past its end",
                    path: shard)
            }
            let bytes = try reader.read(offset: labelMember.offset, count: min(labelMember.size, 4096))
            let text = ShardIndex.trimmed(bytes)
            var number: Int32 = 0
            if label == "cls" {
                // Parsed here: a million class indices need no million strings.
                guard let v = ShardIndex.classIndex(text) else {
                    throw LoaderError(
                        .dataset,
                        "\(Locator.display(shard)): the .cls of \(Locator.display(String(key))) is \"\(String(decoding: text, as: UTF8.self))\", not a label (an integer ≥ 0)",
                        path: shard)
                }
                number = v
            } else {
                part.texts.append(String(decoding: text, as: UTF8.self))
            }
            part.samples.append(ShardIndex.sample(shard, token, label: number, image.offset, image.size, image.name))
        }
        return part
    }

    private static func readerOrThrow(_ url: String) throws(LoaderError) -> HTTPReader {
        do {
            return try HTTPReader()
        } catch {
            throw LoaderError(.dataset, error.message, path: url)
        }
    }

    /// Classes `"0"`… up to the largest `cls` label (already in the samples), else class names
    /// (one text per sample, nil for a truncated one) sorted into labels.
    private mutating func assignLabels(_ texts: [String?], label: String) throws(LoaderError) {
        if label == "cls" {
            classes = (0...Int(samples.lazy.map(\.label).max() ?? 0)).map(String.init)
        } else {
            classes = Set(texts.compactMap { $0 }).sorted(by: ImageFolder.byteOrder)
            let number = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
            for i in samples.indices { samples[i].label = texts[i].map { number[$0]! } ?? 0 }
        }
    }

    /// A member's key: its name up to the first dot of its base name.
    static func key(of name: String) -> Substring { name[..<keyEnd(name)] }

    /// A member's extension: everything after the first dot of its base name.
    static func extensionOf(_ name: String) -> Substring {
        let end = keyEnd(name)
        return end == name.endIndex ? "" : name[name.utf8.index(after: end)...]
    }

    /// Where a member's key ends: the first dot of its base name (bytes, not characters: a
    /// million names are split while an index is built).
    private static func keyEnd(_ name: String) -> String.Index {
        let utf8 = name.utf8
        let base = utf8.lastIndex(of: 0x2F).map { utf8.index(after: $0) } ?? utf8.startIndex
        return utf8[base...].firstIndex(of: 0x2E) ?? utf8.endIndex
    }

    // MARK: Keeping

    /// Writes the index to `file` (a temporary file renamed over it), streamed a block at a time;
    /// a failure only costs the next run a scan.
    func keep(at file: String, label: String) {
        guard var sink = IndexSink(file: file) else { return }
        var w = WireWriter()
        w.int(ShardIndex.magic)
        w.int(ShardIndex.formatVersion)
        w.string(label)
        w.int(shards.count)
        for (s, identity) in zip(shards, identities) {
            w.string(s)
            w.int(identity.size)
            w.string(identity.stamp)
        }
        w.int(classes.count)
        for c in classes { w.string(c) }
        w.int(notes.count)
        for n in notes { w.string(n) }
        w.int(damage.count)
        for d in damage { w.string(d) }
        w.int(samples.count)
        sink.append(w.bytes)
        let number = Dictionary(shards.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        for start in stride(from: 0, to: samples.count, by: 1 << 14) {
            var chunk = WireWriter()
            for e in samples[start..<min(start + (1 << 14), samples.count)] {
                chunk.int(number[e.path]! << 32 | Int(UInt32(bitPattern: e.label)))
                chunk.int(e.member!.offset)
                chunk.int(e.member!.size)
                chunk.string(e.member!.name)
            }
            sink.append(chunk.bytes)
        }
        sink.finish()
    }

    /// The kept index at `file` when it is intact and made for exactly these shards as they are now.
    static func read(_ file: String, shards: [String], identities: [ShardIdentity], label: String) -> ShardIndex? {
        guard var r = IndexStream(path: file) else { return nil }
        defer { r.close() }
        let bodyCount = r.bodyCount
        do throws(LoaderError) {
            guard try r.int() == magic, try r.int() == formatVersion, try r.string() == label, try r.int() == shards.count
            else { return nil }
            for (s, identity) in zip(shards, identities) {
                guard try r.string() == s, try r.int() == identity.size, try r.string() == identity.stamp else { return nil }
            }
            var index = ShardIndex(shards: shards, identities: identities, samples: [], classes: [], notes: [])
            let tokens = zip(shards, identities).map { $1.token(of: $0) }
            for _ in 0..<(try r.int()) { index.classes.append(try r.string()) }
            for _ in 0..<(try r.int()) { index.notes.append(try r.string()) }
            for _ in 0..<(try r.int()) { index.damage.append(try r.string()) }
            let n = try r.int()
            guard n > 0, n <= bodyCount / 32 else { return nil }
            index.samples.reserveCapacity(n)
            for _ in 0..<n {
                let packed = try r.int()
                let (shard, label) = (Int32(truncatingIfNeeded: packed >> 32), Int32(truncatingIfNeeded: packed))
                let offset = try r.int()
                let size = try r.int()
                let name = try r.string()
                guard (0..<Int32(shards.count)).contains(shard), label >= 0, Int(label) < index.classes.count, offset >= 0,
                    size >= 0, offset + size <= identities[Int(shard)].size
                else { return nil }
                let s = Int(shard)
                index.samples.append(ShardIndex.sample(shards[s], tokens[s], label: label, offset, size, name))
            }
            // Read as it streamed by; used only when the checksum of every byte holds.
            return r.checksumMatches() ? index : nil
        } catch {
            return nil
        }
    }

    static let checksumSeed: UInt64 = 0x2545_F491_4F6C_DD1D

    /// `bytes` without leading and trailing ASCII white space.
    static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !space($0) }), let last = bytes.lastIndex(where: { !space($0) }) else {
            return []
        }
        return bytes[first...last]
    }

    /// A non-negative decimal integer that fits an Int32, or nil.
    static func classIndex(_ text: ArraySlice<UInt8>) -> Int32? {
        guard !text.isEmpty, text.count <= 10 else { return nil }
        var v = 0
        for b in text {
            guard (0x30...0x39).contains(b) else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        return v <= Int(Int32.max) ? Int32(v) : nil
    }

    /// A sample of the shard `path` (whose identity token is `token`).
    static func sample(_ path: String, _ token: UInt64, label: Int32, _ offset: Int, _ size: Int, _ name: String)
        -> ImageFolder.Sample
    {
        ImageFolder.Sample(path: path, label: label, member: Locator.Member(offset: offset, size: size, token: token, name: name))
    }
}

/// The shared state of ``ShardIndex/inParallel(_:threads:_:)``: the next index to take and the
/// results so far, under one lock.
private final class ParallelWork<T>: @unchecked Sendable {
    let lock = Mutex()
    var next = 0
    var results: [Result<T, LoaderError>?]
    init(_ count: Int) { results = Array(repeating: nil, count: count) }
}
