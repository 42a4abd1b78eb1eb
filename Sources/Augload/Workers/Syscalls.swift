#if canImport(Glibc)
    import Glibc
#endif

/// One funnel for system calls: a raw call that returns -1 and sets errno becomes a thrown
/// ``LoaderError`` naming the operation; EINTR is retried. `close` is never retried (Linux frees
/// the descriptor even when it reports EINTR).
enum Sys {
    @discardableResult
    static func call<T: FixedWidthInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(LoaderError) -> T {
        while true {
            let r = body()
            if r != -1 { return r }
            if errno == EINTR { continue }
            throw LoaderError(.system, "\(what()) failed: \(String(cString: strerror(errno)))")
        }
    }

    static func close(_ fd: Int32) { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Writes all of `bytes` to a blocking descriptor.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String = "write")
        throws(LoaderError)
    {
        var done = 0
        while done < bytes.count {
            let n = try call(what()) { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            done += n
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(LoaderError) {
        let result = bytes.withUnsafeBytes { raw -> LoaderError? in
            do throws(LoaderError) {
                try writeAll(fd, raw, what: "write to channel")
                return nil
            } catch {
                return error
            }
        }
        if let result { throw result }
    }

    /// Reads exactly `count` bytes from a blocking descriptor; `nil` on end of file at a boundary.
    static func readExactly(_ fd: Int32, _ count: Int) throws(LoaderError) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LoaderError(.system, "read from channel failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                if done == 0 { return nil }
                throw LoaderError(.system, "channel closed in the middle of a message")
            }
            done += n
        }
        return out
    }
}

/// Length-prefixed frames over a stream socket.
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
