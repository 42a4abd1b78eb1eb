#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: the operation, in words, and the `errno` it set.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being done ("open Fixtures/a.jpg", "mmap of 4096 bytes").
    public var operation: String
    /// The `errno` value the call set.
    public var errno: Int32

    /// Creates an error for `operation` with `errno`.
    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    /// The system's text for ``errno``.
    public var reason: String { String(cString: strerror(errno)) }

    /// "operation failed: reason".
    public var description: String { "\(operation) failed: \(reason)" }
}

/// The one funnel for system calls, for Core and the library above it: a raw call that returns
/// -1 and sets errno becomes a thrown ``SystemError`` (errno kept); EINTR is retried. `close`
/// is never retried (Linux frees the descriptor even when it reports EINTR).
public enum Syscall {
    /// Runs `body` until it returns something other than -1-with-EINTR.
    /// - Throws: ``SystemError`` naming `operation` when it returns -1 with any other errno.
    @discardableResult
    public static func retrying<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T)
        throws(SystemError) -> T
    {
        while true {
            let r = body()
            if r != -1 { return r }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SystemError(operation(), errno: e)
        }
    }

    /// Runs a pointer-returning call (`mmap`, `opendir`) until it does not fail with EINTR;
    /// `failed` is the call's failure value (nil, or `MAP_FAILED`).
    public static func retrying<P>(_ operation: @autoclosure () -> String, failed: P? = nil, _ body: () -> P?)
        throws(SystemError) -> P where P: Equatable
    {
        while true {
            if let p = body(), p != failed { return p }
            let e = Glibc.errno
            if e == EINTR { continue }
            throw SystemError(operation(), errno: e)
        }
    }

    /// Closes `fd` once (never retried); negative descriptors are ignored.
    public static func close(_ fd: Int32) { if fd >= 0 { _ = Glibc.close(fd) } }
}
