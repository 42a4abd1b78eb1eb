/// The little binary format of everything that crosses between the loader and its workers:
/// little-endian integers, length-prefixed strings and byte arrays. One writer, one reader.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Appends `v` as a little-endian 64-bit integer.
    public mutating func int(_ v: Int) {
        withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends one byte.
    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    /// Appends `s` as its UTF-8 byte count followed by its UTF-8 bytes.
    public mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        int(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// Appends `b` prefixed with its length.
    public mutating func blob(_ b: [UInt8]) {
        int(b.count)
        bytes.append(contentsOf: b)
    }
}

/// Reads what ``WireWriter`` wrote; a short or malformed message throws rather than trapping.
public struct WireReader {
    private let bytes: [UInt8]
    private var offset = 0

    /// Creates a reader positioned at the start of `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads a little-endian 64-bit integer; throws ``LoaderError`` (`.system`) when fewer than 8 bytes remain.
    public mutating func int() throws(LoaderError) -> Int {
        guard offset + 8 <= bytes.count else { throw LoaderError(.system, "malformed message: short integer") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return Int(Int64(bitPattern: v))
    }

    /// Reads one byte; throws ``LoaderError`` (`.system`) when none remains.
    public mutating func u8() throws(LoaderError) -> UInt8 {
        guard offset < bytes.count else { throw LoaderError(.system, "malformed message: short byte") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a length-prefixed byte array; throws ``LoaderError`` (`.system`) when the length is negative or overruns the message.
    public mutating func blob() throws(LoaderError) -> [UInt8] {
        let n = try int()
        guard n >= 0, offset + n <= bytes.count else { throw LoaderError(.system, "malformed message: bad length \(n)") }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// Reads a length-prefixed UTF-8 string (invalid sequences become U+FFFD).
    public mutating func string() throws(LoaderError) -> String {
        String(decoding: try blob(), as: UTF8.self)
    }
}

/// Length-prefixed frames over a stream socket: a little-endian `UInt32` byte count, then the
/// payload. Both protocols use it (the workers' binary messages, the client's JSON).
enum Frame {
    static func encode(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)] + payload
    }

    /// Blocking read of one frame; `nil` at end of file.
    static func read(_ fd: Int32) throws(LoaderError) -> [UInt8]? {
        guard let header = try Sys.readExactly(fd, 4) else { return nil }
        let n = length(header, at: 0)
        if n == 0 { return [] }
        guard let payload = try Sys.readExactly(fd, n) else { throw LoaderError(.system, "channel closed after a frame header") }
        return payload
    }

    /// The little-endian 32-bit length at `offset`.
    static func length(_ bytes: [UInt8], at offset: Int) -> Int {
        Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
    }

    /// Splits complete frames off the front of `buffer`.
    static func drain(_ buffer: inout [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while buffer.count - offset >= 4 {
            let n = length(buffer, at: offset)
            guard buffer.count - offset - 4 >= n else { break }
            frames.append(Array(buffer[offset + 4..<offset + 4 + n]))
            offset += 4 + n
        }
        if offset > 0 { buffer.removeFirst(offset) }
        return frames
    }
}
