#if canImport(Glibc)
    import Glibc
#endif

/// Core's ``Syscall`` funnel, with its ``SystemError`` turned into a ``LoaderError`` (`.system`)
/// that keeps the errno as its cause.
enum Sys {
    @discardableResult
    static func call<T: FixedWidthInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws(LoaderError) -> T {
        do {
            return try Syscall.retrying(what(), body)
        } catch {
            throw LoaderError(error)
        }
    }

    /// A pointer-returning call (`mmap`, `opendir`), `failed` its failure value.
    static func pointer<P: Equatable>(_ what: @autoclosure () -> String, failed: P? = nil, _ body: () -> P?)
        throws(LoaderError) -> P
    {
        do {
            return try Syscall.retrying(what(), failed: failed, body)
        } catch {
            throw LoaderError(error)
        }
    }

    static func close(_ fd: Int32) { Syscall.close(fd) }

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
