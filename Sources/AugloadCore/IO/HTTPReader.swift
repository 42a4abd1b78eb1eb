import CAugHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// Reads byte ranges of `http(s)://` resources through libcurl (loaded when first needed, see
/// `aug_http.h`): one keep-alive connection per reader, timeouts, bounded retries with back-off.
///
/// A reader is used by one thread at a time; the lock only guards copies of a workspace that
/// share it.
public final class HTTPReader: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    /// - Throws: ``DecodeError`` (`.io`) when libcurl cannot be loaded, naming the package to install.
    public init() throws(DecodeError) {
        var error = [CChar](repeating: 0, count: 512)
        guard let h = aug_http_new(&error, error.count) else {
            throw DecodeError(.io, message: HTTPReader.text(error))
        }
        handle = h
        pthread_mutex_init(lock, nil)
    }

    deinit {
        aug_http_free(handle)
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Nil when URLs can be read; else why not (libcurl missing), naming the package.
    public static var unavailableReason: String? {
        var error = [CChar](repeating: 0, count: 512)
        return aug_http_available(&error, error.count) == 0 ? nil : text(error)
    }

    /// Reads `buffer.count` bytes of `url` from `offset`.
    /// - Throws: ``DecodeError`` (`.io`) naming the URL, the range and the reason.
    public func read(_ url: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(DecodeError) {
        var error = [CChar](repeating: 0, count: 1024)
        pthread_mutex_lock(lock)
        let status = aug_http_range(
            handle, url, UInt64(offset), buffer.count, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), &error,
            error.count)
        pthread_mutex_unlock(lock)
        if status != 0 { throw DecodeError(.io, message: HTTPReader.text(error)) }
    }

    /// Reads `bytes.count` bytes of `url` from `offset` into `bytes`.
    /// - Throws: ``DecodeError`` (`.io`) naming the URL, the range and the reason.
    public func read(_ url: String, offset: Int, into bytes: inout [UInt8]) throws(DecodeError) {
        let failure = bytes.withUnsafeMutableBytes { buffer -> DecodeError? in
            do throws(DecodeError) {
                try read(url, offset: offset, into: buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// The resource's size and validators (`etag=…;last-modified=…`), from a HEAD request.
    public func head(_ url: String) throws(DecodeError) -> (size: Int, validator: String) {
        var error = [CChar](repeating: 0, count: 1024)
        var validator = [CChar](repeating: 0, count: 1024)
        var size: UInt64 = 0
        pthread_mutex_lock(lock)
        let status = aug_http_head(handle, url, &size, &validator, validator.count, &error, error.count)
        pthread_mutex_unlock(lock)
        if status != 0 { throw DecodeError(.io, message: HTTPReader.text(error)) }
        return (Int(size), HTTPReader.text(validator))
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
