/// The batches of `augload check`: each batch is the ``Verdict``s of a run of files, each file
/// decoded in full, made by the same worker pool and slots as image batches.
///
/// Why a ``BatchSource`` of its own: checking a dataset is decoding every file once, which is
/// exactly the work the loader already spreads over spawned workers (a worker that dies on a file
/// is replaced and its batch redone, nothing crosses but the paths of the batch). Only what a
/// batch holds differs: one fixed-size record per file instead of pixels.
///
/// A record is ``recordBytes`` bytes: the kind (0 good, 1 warnings, 2 refused), the refusal's
/// ``DecodeError/Code`` (its index in `allCases`), the message's UTF-8 length (UInt16, little
/// endian), the warning count (UInt32, little endian), then the message (cut to fit, at a
/// character boundary).
///
///     let source = VerdictSource(paths: folder.samples.map(\.locator))
///     let loader = try Loader(source: source, workers: 2)
///     while let batch = try loader.next() {
///         for (path, verdict) in source.verdicts(in: batch) where verdict != .good { print(path, verdict.reason) }
///     }
public struct VerdictSource: BatchSource, Sendable {
    /// The files to check, in order (empty in a worker: orders carry the paths).
    public let paths: [String]
    /// Decoder settings (strict mode turns recovered warnings into refusals).
    public let options: DecodeOptions
    /// Files per batch: small enough to spread the work evenly, large enough that the per-batch
    /// message costs nothing against the decodes.
    public let filesPerBatch: Int

    private var file = FileBytes()
    private var image = Image()

    /// Bytes per file in a batch.
    public static let recordBytes = 256
    static let messageOffset = 8

    /// Checks `paths` with `options`, `filesPerBatch` files per batch (at least 1).
    public init(paths: [String], options: DecodeOptions = .init(), filesPerBatch: Int = 32) {
        self.paths = paths
        self.options = options
        self.filesPerBatch = max(1, filesPerBatch)
    }

    /// The verdicts in `batch`, which must be batch `batch.index` of this source, with their paths.
    public func verdicts(in batch: Batch) -> [(path: String, verdict: Verdict)] {
        let start = batch.index * filesPerBatch
        return (0..<batch.count).map { k in
            (paths[start + k], Self.decode(UnsafeRawBufferPointer(rebasing: batch.images[(k * Self.recordBytes)...])))
        }
    }

    // MARK: BatchSource

    /// Batches needed for every path; the same every epoch.
    public func batchCount(epoch: Int) -> Int { (paths.count + filesPerBatch - 1) / filesPerBatch }

    /// One record per file of a batch.
    public func slotRequirement() throws -> SlotRequirement {
        SlotRequirement(imageBytes: filesPerBatch * Self.recordBytes, labels: filesPerBatch)
    }

    /// The paths of batch `index`.
    public func order(epoch: Int, index: Int) throws -> [UInt8] {
        let count = batchCount(epoch: epoch)
        guard (0..<count).contains(index) else {
            throw LoaderError(.usage, "batch \(index) is out of range: the check has \(count) batches")
        }
        let start = index * filesPerBatch
        var w = WireWriter()
        let batch = paths[start..<min(start + filesPerBatch, paths.count)]
        w.int(batch.count)
        for path in batch { w.string(path) }
        return w.bytes
    }

    /// The order's paths, comma-separated.
    public func describe(order: [UInt8]) -> String {
        (try? Self.paths(of: order))?.joined(separator: ", ") ?? "(unreadable order)"
    }

    /// Reads and decodes each file of the order in full and writes its verdict record. A bad file
    /// is a verdict, never an error: the check goes on through every file.
    public mutating func fill(order: [UInt8], epoch: Int, index: Int, into writer: inout BatchWriter) throws -> [SkippedFile] {
        let paths = try Self.paths(of: order)
        guard paths.count <= filesPerBatch else {
            throw LoaderError(.system, "an order of \(paths.count) files for batches of \(filesPerBatch)")
        }
        for (k, path) in paths.enumerated() {
            let verdict: Verdict
            do throws(DecodeError) {
                try file.read(path: path)
                verdict = Verdict.of(file.bytes, options: options, image: &image)
            } catch {
                verdict = .refused(error)
            }
            Self.encode(verdict, into: UnsafeMutableRawBufferPointer(rebasing: writer.images[(k * Self.recordBytes)...]))
            writer.labels[k] = Int32(Self.kind(verdict))
        }
        try writer.finish(shape: [paths.count, Self.recordBytes], dtype: .uint8, labelCount: paths.count)
        return []
    }

    /// Options and batch size; never the file list.
    public func configuration() throws -> [UInt8] {
        try TypeCodec.encodeJSON(Configuration(options: options, filesPerBatch: filesPerBatch))
    }

    /// Recreates the source in a worker (with no paths: orders carry them).
    public init(configuration: [UInt8]) throws {
        let c = try TypeCodec.decodeJSON(Configuration.self, configuration)
        self.init(paths: [], options: c.options, filesPerBatch: c.filesPerBatch)
    }

    /// Returns `false`: nothing changes between epochs.
    public mutating func epochDidEnd(_ epoch: Int) -> Bool { false }

    /// Batches depend on nothing but their order.
    public var isEpochPure: Bool { true }

    struct Configuration: Codable {
        var options: DecodeOptions
        var filesPerBatch: Int
    }

    // MARK: Records

    static func paths(of order: [UInt8]) throws(LoaderError) -> [String] {
        var r = WireReader(order)
        let n = try r.int()
        guard n >= 0 else { throw LoaderError(.system, "malformed order: \(n) files") }
        return try (0..<n).map { _ throws(LoaderError) in try r.string() }
    }

    static func kind(_ verdict: Verdict) -> UInt8 {
        switch verdict {
        case .good: 0
        case .warnings: 1
        case .refused: 2
        }
    }

    static func encode(_ verdict: Verdict, into record: UnsafeMutableRawBufferPointer) {
        var message: [UInt8]
        var code: DecodeError.Code = .warning
        var warnings: UInt32 = 0
        switch verdict {
        case .good: message = []
        case .warnings(let w):
            message = Array(w.message.utf8)
            warnings = UInt32(clamping: w.count)
        case .refused(let error):
            message = Array(error.message.utf8)
            code = error.code
        }
        let room = recordBytes - messageOffset
        if message.count > room {
            var end = room
            while end > 0 && message[end] & 0xC0 == 0x80 { end -= 1 }  // not inside a UTF-8 sequence
            message = Array(message[..<end])
        }
        record[0] = kind(verdict)
        record[1] = UInt8(DecodeError.Code.allCases.firstIndex(of: code) ?? 0)
        record.storeBytes(of: UInt16(message.count).littleEndian, toByteOffset: 2, as: UInt16.self)
        record.storeBytes(of: warnings.littleEndian, toByteOffset: 4, as: UInt32.self)
        message.withUnsafeBytes { bytes in
            if let from = bytes.baseAddress {
                record.baseAddress!.advanced(by: messageOffset).copyMemory(from: from, byteCount: bytes.count)
            }
        }
    }

    static func decode(_ record: UnsafeRawBufferPointer) -> Verdict {
        let length = Int(UInt16(littleEndian: record.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let count = Int(UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let message = String(
            decoding: record[messageOffset..<messageOffset + min(length, recordBytes - messageOffset)], as: UTF8.self)
        switch record[0] {
        case 0: return .good
        case 1: return .warnings(DecodeWarnings(count: count, message: message))
        default:
            let codes = DecodeError.Code.allCases
            let index = Int(record[1])
            return .refused(DecodeError(index < codes.count ? codes[index] : .corrupt, message: message))
        }
    }
}
