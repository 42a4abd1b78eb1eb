/// What decoding says about a file: good, decoded although the decoder had to recover from
/// corrupt data, or refused with a reason.
///
/// A verdict is a property of the file alone. Every decode reads the whole file, not just the rows
/// a crop needs: rows outside a JPEG's region are entropy-decoded (no IDCT or colour conversion)
/// down to the EOI marker, and every PNG row is inflated, so the last IDAT's CRC and the zlib
/// Adler-32 are checked. A file therefore gets the same verdict under every crop, size, DCT scale,
/// seed and worker count: the one a full decode gives. (Before this rule a file damaged below the
/// crop passed or failed as the random crop moved, epoch to epoch.) `augload check` prints the
/// verdict of every file that is not good.
///
///     var image = Image()
///     switch Verdict.of(bytes, image: &image) {
///     case .good: break
///     case .warnings(let w): print("recovered from \(w.count) problems: \(w.message)")
///     case .refused(let error): print("refused: \(error.code): \(error.message)")
///     }
public enum Verdict: Sendable, Equatable {
    /// The file decodes cleanly.
    case good
    /// The file decodes, but libjpeg recovered from corrupt data (an error in strict mode).
    case warnings(DecodeWarnings)
    /// The file cannot be decoded; the error says why.
    case refused(DecodeError)

    /// Decodes `bytes` in full (scale 1, no region) into `image`, reusing its storage, and says
    /// what the file is.
    public static func of(_ bytes: [UInt8], options: DecodeOptions = .init(), image: inout Image) -> Verdict {
        do throws(DecodeError) {
            return Verdict(warnings: try ImageDecoder.decode(bytes, into: &image, options: options))
        } catch {
            return .refused(error)
        }
    }

    /// `.good` when there were no warnings, else `.warnings`.
    public init(warnings: DecodeWarnings) {
        self = warnings.count == 0 ? .good : .warnings(warnings)
    }

    /// True for `.refused`.
    public var isRefused: Bool {
        if case .refused = self { return true }
        return false
    }

    /// `good`, `warning` or `refused`, as reports print it.
    public var label: String {
        switch self {
        case .good: "good"
        case .warnings: "warning"
        case .refused: "refused"
        }
    }

    /// The refusal's code, `warning` for a file decoded with warnings, or `nil` when good.
    public var code: String? {
        switch self {
        case .good: nil
        case .warnings: DecodeError.Code.warning.rawValue
        case .refused(let error): error.code.rawValue
        }
    }

    /// The sentence a report prints: the refusal's reason or the warnings' summary (empty when good).
    public var reason: String {
        switch self {
        case .good: ""
        case .warnings(let w): "decoded with \(w.count) recovered libjpeg warnings: \(w.message)"
        case .refused(let error): error.message
        }
    }
}
