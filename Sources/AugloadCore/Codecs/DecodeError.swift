import CAugCodecs

/// Why a file could not be turned into pixels: a code, the file, and a sentence.
///
/// Its `description` is what the CLI prints before exiting with status 1, for example
/// `Fixtures/bad/truncated.jpg: truncated JPEG: data ends before the image`.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of failure.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case empty, format, truncated, corrupt, tooLarge, unsupported, warning, argument, noMemory, io
    }

    /// The category of failure.
    public var code: Code
    /// The file, when known.
    public var path: String?
    /// A human-readable reason (the codec's own words where it gave any).
    public var message: String

    /// Creates an error from a code, optionally the file, and a reason.
    public init(_ code: Code, path: String? = nil, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// The error with `path` attached.
    public func at(_ path: String) -> DecodeError {
        var copy = self
        copy.path = path
        return copy
    }

    /// "path: message" when the path is known (as ``Locator/display(_:)`` shows it), else the message.
    public var description: String {
        if let path { return "\(Locator.display(path)): \(message)" }
        return message
    }

    init(status: Int32, error: inout aug_error) {
        let message = withUnsafeBytes(of: &error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let code: Code =
            switch aug_status(UInt32(status)) {
            case AUG_ERR_EMPTY: .empty
            case AUG_ERR_FORMAT: .format
            case AUG_ERR_TRUNCATED: .truncated
            case AUG_ERR_CORRUPT: .corrupt
            case AUG_ERR_TOO_LARGE: .tooLarge
            case AUG_ERR_UNSUPPORTED: .unsupported
            case AUG_ERR_WARNING: .warning
            case AUG_ERR_NOMEM: .noMemory
            case AUG_ERR_IO: .io
            default: .argument
            }
        self.init(code, message: message.isEmpty ? "decode failed (status \(status))" : message)
    }
}
