/// Why a load failed: a code, a sentence naming the file or batch, and a cause.
///
/// Its `description` is what the CLI prints before exiting with status 1.
public struct LoaderError: Error, Sendable, CustomStringConvertible {
    /// The category of a load failure.
    public enum Code: String, Sendable, Codable {
        /// A file could not be decoded and the policy is `.fail`.
        case badFile
        /// A batch kept killing its workers.
        case workerCrashed
        /// The sequence threw, or cannot run where it was asked to.
        case sequence
        /// The dataset folder is missing, empty or unreadable.
        case dataset
        /// A system call failed (spawn, shared memory, pipes).
        case system
        /// The options are invalid (a value out of range): the CLI exits 2, like bad usage.
        case invalidOptions
        /// The client and the engine speak different protocol versions (`serve`'s hello).
        case protocolMismatch
        /// The loader was used wrongly (a position past the end, every slot held by the consumer).
        case usage
    }

    /// The category of the failure.
    public var code: Code
    /// The sentence describing the failure, naming the file or batch and the cause.
    public var message: String
    /// The file at fault, when there is one.
    public var path: String?
    /// Why the file at fault could not be decoded (`.badFile`): the decoder's own code.
    public var decodeCode: DecodeError.Code?
    /// The failed system call behind a `.system` error, with its errno.
    public var cause: SystemError?

    /// Creates an error from a code, a message and, optionally, the file at fault and the decoder's code.
    public init(_ code: Code, _ message: String, path: String? = nil, decodeCode: DecodeError.Code? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.decodeCode = decodeCode
    }

    /// A `.system` error for a failed system call, keeping it as the cause.
    public init(_ cause: SystemError, path: String? = nil) {
        self.init(.system, cause.description, path: path)
        self.cause = cause
    }

    /// The message, as the CLI prints it.
    public var description: String { message }
}
