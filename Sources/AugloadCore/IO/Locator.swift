/// Where a sample's encoded bytes are, as the one string that crosses every layer (the worker wire,
/// the cache key, verdicts, the Python protocol): a file's path, or a member of a tar shard.
///
/// **Paths are bytes.** A Linux file name is any bytes but `/` and NUL, and need not be UTF-8. A
/// Swift `String` cannot hold invalid UTF-8, so a path's bytes are carried losslessly with the one
/// byte no path can contain: every byte that is not part of valid UTF-8 is written as NUL followed
/// by two lowercase hex digits (`caf\xE9.jpg` → `"caf\u{0}e9.jpg"`). Valid UTF-8 — nearly every
/// name — is the string itself, and converts back to the same bytes on its way to `open`.
///
/// **Shard members** append NUL, `m`, then `offset,size,token,name`: the member's data offset and
/// size in the shard, a token of the shard's identity (what the decoded cache keys on) and the
/// member's name. `m` is not a hex digit, so the first NUL-`m` ends the shard's part unambiguously.
///
///     let member = Locator.member(shard: "train-000003.tar", name: "000000042.jpg", offset: 1536, size: 81_209, token: 7)
///     Locator.parse(member).member?.offset      // 1536
///     Locator.reported(member)                  // "train-000003.tar#000000042.jpg"
public enum Locator {
    /// A parsed locator: the file or shard, and the member when it is one.
    public struct Parts: Sendable, Hashable {
        /// The file's or the shard's path (escaped as above) or URL.
        public var path: String
        /// The member of the shard, nil for a whole file.
        public var member: Member?
    }

    /// A member of a tar shard.
    public struct Member: Sendable, Hashable {
        /// Where the member's data starts in the shard.
        public var offset: Int
        /// The member's data size.
        public var size: Int
        /// The shard's identity (size and modification time, or a URL's validators), hashed.
        public var token: UInt64
        /// The member's name in the tar.
        public var name: String

        public init(offset: Int, size: Int, token: UInt64, name: String) {
            self.offset = offset
            self.size = size
            self.token = token
            self.name = name
        }
    }

    static let memberMark: Character = "m"

    /// The locator of a shard member.
    public static func member(shard: String, name: String, offset: Int, size: Int, token: UInt64) -> String {
        "\(shard)\u{0}\(memberMark)\(offset),\(size),\(token),\(name)"
    }

    /// Splits a locator; a plain path (no member part) parses as itself.
    public static func parse(_ locator: String) -> Parts {
        guard locator.utf8.contains(0) else { return Parts(path: locator, member: nil) }
        let scalars = locator.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let next = scalars.index(after: i)
            if scalars[i] == "\u{0}", next < scalars.endIndex, scalars[next] == "m" {
                let fields = String(scalars[scalars.index(after: next)...]).split(
                    separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count == 4, let offset = Int(fields[0]), let size = Int(fields[1]),
                    let token = UInt64(fields[2])
                else { return Parts(path: locator, member: nil) }
                return Parts(
                    path: String(scalars[..<i]),
                    member: Member(offset: offset, size: size, token: token, name: String(fields[3])))
            }
            i = next
        }
        return Parts(path: locator, member: nil)
    }

    /// True for `http://` and `https://` URLs.
    public static func isURL(_ path: String) -> Bool { path.hasPrefix("http://") || path.hasPrefix("https://") }

    /// What reports and the Python client get as the sample's path: the file's (escaped) path, or
    /// `shard#member` for a shard member.
    public static func reported(_ locator: String) -> String {
        let parts = parse(locator)
        guard let member = parts.member else { return locator }
        return parts.path + "#" + member.name
    }

    /// A locator as people read it: invalid bytes as `\xNN`, a member as `shard#member`.
    public static func display(_ locator: String) -> String {
        let reported = reported(locator)
        guard reported.utf8.contains(0) else { return reported }
        var out = ""
        var pending = 0  // hex digits still to copy after a NUL
        for scalar in reported.unicodeScalars {
            if scalar == "\u{0}" {
                out += "\\x"
                pending = 2
            } else {
                if pending > 0 { pending -= 1 }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: Bytes

    /// The locator string of a path given as bytes (a directory entry, a tar member's name).
    public static func string(bytes: some Collection<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        let b = Array(bytes)
        var i = 0
        while i < b.count {
            let n = validSequenceLength(b, at: i)
            if n > 0 {
                out.append(contentsOf: b[i..<(i + n)])
                i += n
            } else {
                out.append(0)
                out.append(hexDigit(b[i] >> 4))
                out.append(hexDigit(b[i] & 15))
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes a path string stands for (escapes undone); NUL-terminated for `open`.
    public static func cString(_ path: String) -> [CChar] {
        var out = [CChar]()
        out.reserveCapacity(path.utf8.count + 1)
        var utf8 = path.utf8.makeIterator()
        while let byte = utf8.next() {
            if byte == 0, let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) {
                out.append(CChar(bitPattern: high << 4 | low))
            } else {
                out.append(CChar(bitPattern: byte))
            }
        }
        out.append(0)
        return out
    }

    /// Calls `body` with the path's bytes as a C string (no copy for the usual escape-free path).
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        if !path.utf8.contains(0) { return try path.withCString(body) }
        return try cString(path).withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The length of the valid UTF-8 sequence at `i`, or 0 when the byte there does not start one.
    static func validSequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        if lead < 0x80 { return lead == 0 ? 0 : 1 }
        let (n, low, high): (Int, UInt8, UInt8)
        switch lead {
        case 0xC2...0xDF: (n, low, high) = (2, 0x80, 0xBF)
        case 0xE0: (n, low, high) = (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (n, low, high) = (3, 0x80, 0xBF)
        case 0xED: (n, low, high) = (3, 0x80, 0x9F)  // no surrogates
        case 0xF0: (n, low, high) = (4, 0x90, 0xBF)
        case 0xF1...0xF3: (n, low, high) = (4, 0x80, 0xBF)
        case 0xF4: (n, low, high) = (4, 0x80, 0x8F)
        default: return 0
        }
        guard i + n <= b.count, (low...high).contains(b[i + 1]) else { return 0 }
        for k in 2..<n where !(0x80...0xBF).contains(b[i + k]) { return 0 }
        return n
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        default: nil
        }
    }
}
