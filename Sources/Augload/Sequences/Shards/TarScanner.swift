import AugloadCore

/// Random access to one shard's bytes: a file on disk (`pread`) or a URL (range requests through
/// a read-ahead window, so scanning headers in order costs one request per window, not per header).
protocol ShardBytes {
    /// The shard's size in bytes.
    var size: Int { get }
    /// Up to `count` bytes at `offset` (fewer only at the end of the shard).
    mutating func read(offset: Int, count: Int) throws(LoaderError) -> [UInt8]
}

/// One regular file in a tar: its name (a ``Locator`` string: invalid UTF-8 escaped) and where its
/// data is.
struct TarMember: Equatable {
    var name: String
    var offset: Int
    var size: Int
}

/// Walks a tar's headers — ustar, GNU long names (`L`) and pax extended headers (`x`, whose
/// `path` and `size` records apply to the next member) — reading 512-byte headers and skipping
/// member data, so an index costs a read per member, not the shard's bytes.
///
/// Damage is named, never guessed past silently: a header whose checksum does not match is
/// reported with its offset and the member before it, and the walk resynchronises at the next
/// valid header (what follows a damaged header is still found). A member whose data runs past
/// the end of the shard is returned as declared — reading it is the error, naming it — and ends
/// the walk.
struct TarScanner {
    static let block = 512

    /// A damaged header: where, and the last good member before it.
    struct Damage: Equatable {
        var offset: Int
        var after: String?
        var reason: String
    }

    private(set) var members: [TarMember] = []
    private(set) var damage: [Damage] = []
    /// True when the last member's data runs past the end of the shard.
    private(set) var truncated = false

    /// Scans `shard` to its end-of-archive marker (or its end).
    static func scan(_ shard: inout some ShardBytes) throws(LoaderError) -> TarScanner {
        var scanner = TarScanner()
        try scanner.run(&shard)
        return scanner
    }

    private mutating func run(_ shard: inout some ShardBytes) throws(LoaderError) {
        var at = 0
        var longName: String?
        var paxSize: Int?
        while at + TarScanner.block <= shard.size {
            let header = try shard.read(offset: at, count: TarScanner.block)
            guard header.count == TarScanner.block else { break }
            if header.allSatisfy({ $0 == 0 }) { return }  // end of archive
            guard TarScanner.checksumMatches(header) else {
                damage.append(Damage(offset: at, after: members.last?.name, reason: "header checksum does not match"))
                guard let next = try TarScanner.nextValidHeader(&shard, after: at) else { return }
                at = next
                longName = nil
                paxSize = nil
                continue
            }
            guard let declared = TarScanner.octal(header[124..<136]) else {
                damage.append(Damage(offset: at, after: members.last?.name, reason: "unreadable size field"))
                guard let next = try TarScanner.nextValidHeader(&shard, after: at) else { return }
                at = next
                continue
            }
            let type = header[156]
            let data = at + TarScanner.block
            let size = (type == 0x30 || type == 0 || type == 0x37) ? (paxSize ?? declared) : declared
            let next = data + (size + TarScanner.block - 1) / TarScanner.block * TarScanner.block
            switch type {
            case 0x4C:  // 'L': GNU long name, the data is the next member's name
                let bytes = try shard.read(offset: data, count: min(size, 1 << 16))
                longName = Locator.string(bytes: bytes.prefix(while: { $0 != 0 }))
            case 0x78:  // 'x': pax records for the next member
                let records = TarScanner.paxRecords(try shard.read(offset: data, count: min(size, 1 << 20)))
                if let path = records["path"] { longName = Locator.string(bytes: path) }
                if let s = records["size"].flatMap({ Int(String(decoding: $0, as: UTF8.self)) }) { paxSize = s }
            case 0x30, 0, 0x37:  // regular file
                let name = longName ?? TarScanner.ustarName(header)
                members.append(TarMember(name: name, offset: data, size: size))
                longName = nil
                paxSize = nil
                if data + size > shard.size {
                    truncated = true
                    return
                }
            default:  // directories, links, global pax headers, devices: nothing to load
                longName = nil
                paxSize = nil
            }
            at = next
        }
    }

    /// The name of a ustar header: `prefix/name` when the ustar prefix field is set.
    static func ustarName(_ h: [UInt8]) -> String {
        let name = h[0..<100].prefix(while: { $0 != 0 })
        let isUstar = h[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? h[345..<500].prefix(while: { $0 != 0 }) : []
        return Locator.string(bytes: prefix.isEmpty ? Array(name) : Array(prefix) + [0x2F] + Array(name))
    }

    /// The header's stored checksum equals the sum of its bytes with the checksum field as spaces
    /// (unsigned, as POSIX says; the signed sum old tars wrote is accepted too).
    static func checksumMatches(_ h: [UInt8]) -> Bool {
        guard let stored = octal(h[148..<156]) else { return false }
        var unsigned = 8 * 0x20  // the field itself counts as spaces
        var signed = 8 * 0x20
        h.withUnsafeBufferPointer { bytes in
            for i in 0..<148 {
                unsigned &+= Int(bytes[i])
                signed &+= Int(Int8(bitPattern: bytes[i]))
            }
            for i in 156..<bytes.count {
                unsigned &+= Int(bytes[i])
                signed &+= Int(Int8(bitPattern: bytes[i]))
            }
        }
        return stored == unsigned || stored == signed
    }

    /// An octal field (NUL/space padded), or GNU's base-256 form (high bit of the first byte set).
    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        if let first = field.first, first & 0x80 != 0 {
            var v = Int(first & 0x3F)
            for b in field.dropFirst() {
                guard v < Int.max >> 8 else { return nil }
                v = v << 8 | Int(b)
            }
            return v
        }
        var v = 0
        var digits = 0
        for b in field {
            if b == 0 || b == 0x20 {
                if digits > 0 { break }
                continue
            }
            guard (0x30...0x37).contains(b), v < Int.max >> 3 else { return nil }
            v = v << 3 | Int(b - 0x30)
            digits += 1
        }
        return digits > 0 ? v : (field.allSatisfy { $0 == 0 || $0 == 0x20 } ? 0 : nil)
    }

    /// pax records: `LENGTH key=value\n` each.
    static func paxRecords(_ data: [UInt8]) -> [String: [UInt8]] {
        var records: [String: [UInt8]] = [:]
        var i = 0
        while i < data.count {
            guard let space = data[i...].firstIndex(of: 0x20),
                let length = Int(String(decoding: data[i..<space], as: UTF8.self)), length > 0, i + length <= data.count,
                let equals = data[(space + 1)..<(i + length)].firstIndex(of: 0x3D)
            else { break }
            let key = String(decoding: data[(space + 1)..<equals], as: UTF8.self)
            records[key] = Array(data[(equals + 1)..<(i + length - 1)])
            i += length
        }
        return records
    }

    /// The offset of the next block after `offset` that is a valid header, or nil.
    private static func nextValidHeader(_ shard: inout some ShardBytes, after offset: Int) throws(LoaderError) -> Int? {
        var at = offset + block
        while at + block <= shard.size {
            let chunk = try shard.read(offset: at, count: min(64 * block, shard.size - at))
            var k = 0
            while k + block <= chunk.count {
                let h = Array(chunk[k..<(k + block)])
                if h[257..<262].elementsEqual("ustar".utf8), checksumMatches(h) { return at + k }
                k += block
            }
            at += k
        }
        return nil
    }
}
