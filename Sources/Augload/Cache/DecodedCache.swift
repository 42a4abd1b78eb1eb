import AugloadCore
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The decoded cache: the result of each sample's deterministic prefix (decode, and every step
/// before the first random one), stored once for the loader and all its workers, so that later
/// uses skip decoding — with exactly the bytes the plain path gives.
///
/// The first use of a sample decodes its prefix (``Pipeline/realizePrefix(bytes:workspace:)``),
/// stores it, and makes the sample from it; a later use makes the sample from the stored pixels
/// (``Pipeline/run(prefix:pixels:random:workspace:into:width:height:)``). Whenever the stored
/// pixels cannot give the plain path's bytes (the plain path would decode at a JPEG DCT scale),
/// the sample is made from its file as without a cache and counted as bypassed; a file whose
/// stored image would serve fewer than half of its uses so (``Pipeline/prefixServesMostUses(sourceWidth:sourceHeight:format:)``:
/// a large photo under RandomResizedCrop) is not stored at all, and every use of it is bypassed. A file that
/// cannot be decoded, or that decodes with warnings, is never stored: it gets the verdict it gets
/// without a cache, every time.
///
/// Entries are keyed by the file's path, size and modification time, the prefix's specification
/// (``Pipeline/prefixSpecification``) and the library version. RAM entries live in one memfd
/// (``CacheTable``) bounded by the requested size — what does not fit is decoded as today; disk
/// entries are files (``DiskEntries``) that persist across runs.
///
/// One instance per process: the loader creates it (and the shared memory), each worker attaches
/// to the memory it inherits as fd ``WorkerFD/cache``.
public final class DecodedCache: @unchecked Sendable {
    /// Part of every key: a new library version never reads an older one's entries.
    public static let libraryVersion = "augload 0.1.0; cache format 2"

    /// Where entries are kept.
    public let setting: CacheSetting
    let table: CacheTable
    let disk: DiskEntries?
    let specification: String

    /// Per-thread scratch a cache user keeps beside its pipeline workspace.
    public struct Scratch: Sendable {
        var entry = FileBytes()
        var write: [UInt8] = []
        public init() {}
    }

    /// Creates the cache in the loader process for a dataset of `samples` files.
    public init(setting: CacheSetting, pipeline: Pipeline, samples: Int) throws(LoaderError) {
        self.setting = setting
        specification = pipeline.prefixSpecification
        switch setting {
        case .ram(let bytes):
            table = try CacheTable(samples: samples, ram: true, capacity: bytes ?? CacheSetting.defaultRAMBytes())
            disk = nil
        case .directory(let root, let bound):
            table = try CacheTable(
                samples: samples, ram: false, capacity: bound ?? 0,
                bytesAtStart: bound == nil ? 0 : DiskEntries.entryBytes(under: root))
            disk = try DiskEntries(
                root: root, specification: specification + "\n" + DecodedCache.libraryVersion + "\n",
                specHash: DecodedCache.hash(specification + "\u{0}" + DecodedCache.libraryVersion), removeLeftovers: true)
        }
    }

    /// Attaches, in a worker, to the cache the loader created (its memory is `fd`).
    init(attaching fd: Int32, setting: CacheSetting, pipeline: Pipeline) throws(LoaderError) {
        self.setting = setting
        specification = pipeline.prefixSpecification
        table = try CacheTable(attaching: fd)
        if case .directory(let root, _) = setting {
            disk = try DiskEntries(
                root: root, specification: specification + "\n" + DecodedCache.libraryVersion + "\n",
                specHash: DecodedCache.hash(specification + "\u{0}" + DecodedCache.libraryVersion), removeLeftovers: false)
        } else {
            disk = nil
        }
    }

    /// The cache this worker process attached to (one per process, whatever the reconfigurations).
    nonisolated(unsafe) private static var attached: DecodedCache?

    /// The worker's cache, attaching to fd ``WorkerFD/cache`` the first time.
    static func attachedInWorker(setting: CacheSetting, pipeline: Pipeline) throws(LoaderError) -> DecodedCache {
        if aug_is_worker_process() == 0 {
            // Not a spawned worker (a configuration decoded in-process): a cache of its own.
            return try DecodedCache(setting: setting, pipeline: pipeline, samples: 1 << 16)
        }
        if let attached, attached.setting == setting, attached.specification == pipeline.prefixSpecification { return attached }
        let cache = try DecodedCache(attaching: WorkerFD.cache, setting: setting, pipeline: pipeline)
        attached = cache
        return cache
    }

    /// The shared memory to hand to workers as fd ``WorkerFD/cache``.
    public var fileDescriptor: Int32 { table.fd }

    /// The counters, as every process has updated them so far.
    public var statistics: CacheStatistics {
        var s = table.statistics
        s.location = disk?.folder ?? ""
        return s
    }

    /// Makes one sample, from its stored prefix image when there is one, else from its file
    /// (storing the prefix image on the way); the bytes are those of `pipeline.run(path:…)`.
    /// - Throws: ``DecodeError`` naming `path`, exactly when the plain path would.
    public func run(
        _ pipeline: Pipeline, path: String, random: inout SampleRandom, workspace: inout Pipeline.Workspace,
        scratch: inout Scratch, into destination: UnsafeMutableRawPointer, width: Int?, height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int) {
        guard let identity = FileIdentity(path: path) else {
            // Missing or not a regular file: the plain path says why.
            table.count(.misses)
            return try pipeline.run(
                path: path, random: &random, workspace: &workspace, into: destination, width: width, height: height)
        }
        let key = self.key(path: path, identity: identity)
        do {
            if let disk {
                if let found = disk.read(key, sourcePath: path, identity: identity, into: &scratch.entry) {
                    let info = found.info
                    // First sight in this run: counted once in the cache's bytes.
                    if table.lookup(key) == nil { _ = table.insert(key, info: info, pixels: nil) }
                    let made = try withPixels(scratch.entry.bytes, at: found.pixelsAt) { pixels throws(DecodeError) in
                        try pipeline.run(
                            prefix: info, pixels: pixels, random: &random, workspace: &workspace, into: destination,
                            width: width, height: height)
                    }
                    return try finish(
                        made, pipeline, path: path, random: &random, workspace: &workspace, into: destination, width, height)
                }
            } else if let entry = table.lookup(key) {
                let made = try pipeline.run(
                    prefix: entry.info, pixels: table.pixels(of: entry), random: &random, workspace: &workspace,
                    into: destination, width: width, height: height)
                return try finish(
                    made, pipeline, path: path, random: &random, workspace: &workspace, into: destination, width, height)
            }
            try workspace.file.read(path: path)
            let header = try? ImageDecoder.header(workspace.file.bytes, options: pipeline.decodeOptions)
            if let header,
                !pipeline.prefixServesMostUses(sourceWidth: header.width, sourceHeight: header.height, format: header.format)
            {
                // A stored prefix image would serve fewer than half of this file's uses (they decode
                // at a DCT scale): made from the file, as those uses would be, and never stored.
                table.count(.bypassed)
                return try pipeline.run(
                    bytes: workspace.file.bytes, random: &random, workspace: &workspace, into: destination, width: width,
                    height: height)
            }
            table.count(.misses)
            var info: Pipeline.PrefixInfo?
            if let header {
                // Not stored when it cannot be decoded whole; the plain path below gives the verdict.
                info = try? pipeline.realizePrefix(bytes: workspace.file.bytes, header: header, workspace: &workspace)
            }
            guard let info else {
                return try pipeline.run(
                    bytes: workspace.file.bytes, random: &random, workspace: &workspace, into: destination, width: width,
                    height: height)
            }
            store(key, path: path, identity: identity, info: info, pixels: workspace.prefix.pixels, scratch: &scratch)
            // Made from the prefix just decoded (moved out of the workspace for the call, not copied).
            let prefix = workspace.prefix
            workspace.prefix = Image()
            defer { workspace.prefix = prefix }
            let made = try withPixels(prefix.pixels, at: 0) { pixels throws(DecodeError) in
                try pipeline.run(
                    prefix: info, pixels: pixels, random: &random, workspace: &workspace, into: destination, width: width,
                    height: height)
            }
            if let made { return made }
            return try pipeline.run(
                bytes: workspace.file.bytes, random: &random, workspace: &workspace, into: destination, width: width,
                height: height)
        } catch {
            throw error.at(path)
        }
    }

    /// A sample found stored: a hit when it was made from the stored pixels, else (bypassed) made from its file.
    private func finish(
        _ made: (width: Int, height: Int)?, _ pipeline: Pipeline, path: String, random: inout SampleRandom,
        workspace: inout Pipeline.Workspace, into destination: UnsafeMutableRawPointer, _ width: Int?, _ height: Int?
    ) throws(DecodeError) -> (width: Int, height: Int) {
        if let made {
            table.count(.hits)
            return made
        }
        table.count(.bypassed)
        return try pipeline.run(
            path: path, random: &random, workspace: &workspace, into: destination, width: width, height: height)
    }

    private func store(
        _ key: CacheTable.Key, path: String, identity: FileIdentity, info: Pipeline.PrefixInfo, pixels: [UInt8],
        scratch: inout Scratch
    ) {
        precondition(pixels.count == info.pixelBytes)
        if let disk {
            guard table.reserve(DiskEntries.entryLength(sourcePath: path, pixelBytes: pixels.count), rounded: false) != nil,
                disk.write(key, sourcePath: path, identity: identity, info: info, pixels: pixels, scratch: &scratch.write)
            else {
                table.count(.notStored)
                return
            }
            _ = table.insert(key, info: info, pixels: nil)
            return
        }
        let outcome = pixels.withUnsafeBytes { table.insert(key, info: info, pixels: $0) }
        if outcome == .full { table.count(.notStored) }
    }

    /// The entry key of a file: its path and identity (size, mtime, ctime, inode), the prefix
    /// specification, the library version.
    func key(path: String, identity: FileIdentity) -> CacheTable.Key {
        DecodedCache.hash(
            "\(path)\u{0}\(identity.size)\u{0}\(identity.mtimeNanoseconds)\u{0}\(identity.ctimeNanoseconds)\u{0}\(identity.inode)"
                + "\u{0}\(specification)\u{0}\(DecodedCache.libraryVersion)")
    }

    /// 128 bits of hash of `text` (two differently seeded 64-bit checksums).
    static func hash(_ text: String) -> CacheTable.Key {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            CacheTable.Key(
                a: aug_checksum64(raw.baseAddress, raw.count, 0x243F_6A88_85A3_08D3),
                b: aug_checksum64(raw.baseAddress, raw.count, 0x1319_8A2E_0370_7344))
        }
    }

    /// Calls `body` with a pointer `offset` bytes into `bytes` (typed throws through the buffer closure).
    private func withPixels<R>(
        _ bytes: [UInt8], at offset: Int, _ body: (UnsafePointer<UInt8>) throws(DecodeError) -> R
    ) throws(DecodeError) -> R {
        var result: Result<R, DecodeError>?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(DecodeError) {
                result = .success(try body(buffer.baseAddress! + offset))
            } catch {
                result = .failure(error)
            }
        }
        switch result! {
        case .success(let value): return value
        case .failure(let error): throw error
        }
    }
}
