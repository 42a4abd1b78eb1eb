import CAugKernels
import CAugSystem

/// The release this engine belongs to, and what it runs on.
///
/// The version is `Sources/Python/augload/VERSION`, embedded by `CAugSystem` at compile time: the
/// one place for `augload --version`, the Python package's `__version__` and the wheel's name.
///
///     print(EngineVersion.release)   // "0.2.0"
public enum EngineVersion {
    /// The release version, such as `"0.2.0"`.
    public static let release: String = {
        let text = String(validatingCString: aug_version()) ?? ""
        return String(text.filter { !$0.isWhitespace })
    }()

    /// The pixel kernels this machine runs: `"avx2"` (chosen at run time when the CPU has it) or
    /// `"portable"`. Reported by `serve` so a packaged engine can be checked for its fast paths.
    public static var kernels: String { aug_kernels_simd_level() > 0 ? "avx2" : "portable" }
}
