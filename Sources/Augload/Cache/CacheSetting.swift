#if canImport(Glibc)
    import Glibc
#endif

/// Where the decoded cache keeps prefix images: parsed from the `--cache` option and
/// ``ImageBatchOptions/cache`` (a string, so the Python client can pass it as JSON).
///
///     try CacheSetting(parsing: "ram")          // .ram(bytes: nil): a share of available memory
///     try CacheSetting(parsing: "ram:2G")       // .ram(bytes: 2 << 30)
///     try CacheSetting(parsing: "/data/cache")  // .directory("/data/cache", bytes: nil): persists across runs
///     try CacheSetting(parsing: "/data/cache:50G")  // the same, its entry files bounded to 50 GiB
///     try CacheSetting(parsing: "/data/c:1G/")  // a folder named "c:1G" (a trailing / ends the path)
public enum CacheSetting: Sendable, Hashable {
    /// One shared memory region for the loader and all its workers, whose images are bounded to
    /// `bytes` (nil: the default share of available memory, ``defaultRAMBytes()``); its entry
    /// table adds 128 bytes per sample of the dataset.
    case ram(bytes: Int?)
    /// Entry files under a folder, reused by later runs when files and pipeline match; with
    /// `bytes`, no entry is written that would take the folder's entry files (every pipeline's,
    /// old runs' included, counted when the loader starts) past `bytes`.
    case directory(String, bytes: Int? = nil)

    /// Parses `ram`, `ram:SIZE` (bytes, or with a K/M/G/T suffix, powers of 1024), a folder path,
    /// or `DIR:SIZE` (a folder path whose text after the last `:` is a size).
    /// - Throws: ``LoaderError`` (`.invalidOptions`) naming the value and what is allowed.
    public init(parsing text: String) throws(LoaderError) {
        // `RAM` and `Ram:8G` mean the RAM cache, as Python's client reads them (a folder of that
        // name is `./RAM`): before, the engine took them for a folder and silently made one.
        let lower = text.lowercased()
        if lower == "ram" {
            self = .ram(bytes: nil)
            return
        }
        if lower.hasPrefix("ram:") {
            guard let bytes = CacheSetting.parseSize(String(text.dropFirst(4))), bytes >= 1 << 20 else {
                throw LoaderError(
                    .invalidOptions, "cache size must be a byte count of at least 1M, like ram:512M or ram:8G; got '\(text)'")
            }
            self = .ram(bytes: bytes)
            return
        }
        guard !text.isEmpty else {
            throw LoaderError(.invalidOptions, "cache must be 'ram', 'ram:SIZE' or a folder path; got an empty string")
        }
        if let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let bytes = CacheSetting.parseSize(String(text[text.index(after: colon)...]))
        {
            guard bytes >= 1 << 20 else {
                throw LoaderError(
                    .invalidOptions,
                    "cache size must be at least 1M, like \(text[..<colon]):50G (end a folder named like '\(text)' with a /); got '\(text)'"
                )
            }
            self = .directory(String(text[..<colon]), bytes: bytes)
            return
        }
        self = .directory(text)
    }

    /// `512M`, `8G`, `1048576`: a byte count (K, M, G, T are powers of 1024; a trailing B is allowed).
    public static func parseSize(_ text: String) -> Int? {
        var digits = text.uppercased()
        if digits.hasSuffix("B") { digits.removeLast() }
        var multiplier = 1
        if let last = digits.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
            multiplier = 1 << (10 * power)
            digits.removeLast()
        }
        guard let value = Int(digits), value >= 0, value <= Int.max / multiplier else { return nil }
        return value * multiplier
    }

    /// The default bound of a RAM cache: half of the memory available when the cache is created
    /// (`MemAvailable` in /proc/meminfo), at least 64 MiB.
    public static func defaultRAMBytes() -> Int {
        var available = 0
        if let f = fopen("/proc/meminfo", "r") {
            defer { fclose(f) }
            var line = [CChar](repeating: 0, count: 256)
            while fgets(&line, Int32(line.count), f) != nil {
                let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("MemAvailable:") {
                    available = (Int(text.dropFirst(13).filter(\.isNumber)) ?? 0) * 1024
                    break
                }
            }
        }
        if available == 0 { available = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))) }
        return max(available / 2, 64 << 20)
    }
}

/// What the decoded cache did in a run: counted by every worker into shared memory and read by
/// the loader (``Loader/Statistics/cache``, `run --json`'s `cache_*` keys, `bench`, the progress line).
public struct CacheStatistics: Sendable, Hashable, Codable {
    /// `ram` or `disk`.
    public var kind = "ram"
    /// Samples made from a stored prefix image.
    public var hits = 0
    /// Samples whose prefix image was not stored yet (or not valid): decoded from the file, and
    /// stored when possible.
    public var misses = 0
    /// Samples the stored image could not reproduce exactly (the plain path would decode them at
    /// a JPEG DCT scale), and every use of a file whose stored image would serve fewer than half
    /// of its uses (not stored): decoded from the file as without a cache.
    public var bypassed = 0
    /// Bytes of prefix images the cache holds for this run's samples (entries stored or
    /// validated in this run).
    public var bytes = 0
    /// Prefix images held (the entries ``bytes`` counts).
    public var entries = 0
    /// Samples not stored because the memory bound was reached (decoded as without a cache).
    public var notStored = 0
    /// The cache's bound in bytes: the RAM cache's size, or a folder's bound on its entry files
    /// (0: a folder without a bound).
    public var capacityBytes = 0
    /// For a folder: the bytes of entry files it held when the loader started (what its bound
    /// already counted); 0 for RAM.
    public var bytesAtStart = 0
    /// The disk cache's folder for this pipeline (empty for RAM).
    public var location = ""

    public init() {}
}
