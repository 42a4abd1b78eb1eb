import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What an export wrote.
public struct ExportReport: Sendable, Codable {
    /// The folder the files were written to.
    public var directory: String
    /// Batches written.
    public var batches = 0
    /// Images written.
    public var images = 0
    /// Wall-clock seconds of the export, including creating the loader.
    public var seconds = 0.0
    /// Files that could not be decoded and were replaced.
    public var skipped: [SkippedFile] = []
    /// Files decoded although libjpeg recovered from corrupt data in them.
    public var warnings: [SkippedFile] = []
    /// Worker processes used (0: batches are made on the calling thread).
    public var workers = 0
    /// Workers that died and were replaced during the export.
    public var workerRestarts = 0
}

/// Writes the batches a loader produces as NumPy files: `OUT/images-EEEE-BBBBBB.npy`,
/// `OUT/labels-EEEE-BBBBBB.npy` (epoch, batch index) and `OUT/classes.json` (label → class name).
///
///     let report = try export(sequence, to: "out", workers: 2)
///     // python: numpy.load("out/images-0000-000000.npy")
///
/// - Parameters:
///   - explain: also write `OUT/params-EEEE-BBBBBB.json`, every sample's steps as torchvision calls (``ExplainRecord``).
///   - onBatch: called after each batch is written (progress).
/// - Throws: ``LoaderError`` from the loader, or when a file cannot be written.
@discardableResult
public func export(
    _ sequence: ImageBatchSequence, to directory: String, epochs: Int = 1, workers: Int = 0, maxQueueSize: Int = Loader.defaultQueue,
    maxBatches: Int? = nil, explain: Bool = false, logger: Logger = Logger(label: "augload"),
    onBatch: (Batch, Loader) -> Void = { _, _ in }
) throws(LoaderError) -> ExportReport {
    let begin = monotonicSeconds()
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
        throw LoaderError(.system, "cannot create \(directory): \(String(cString: strerror(errno)))", path: directory)
    }
    let classes: [UInt8]
    do {
        classes = try TypeCodec.encodeJSON(sequence.folder.classes)
    } catch {
        throw LoaderError(.system, "cannot encode class names: \(error)")
    }
    try NPYWriter.writeFile(
        path: "\(directory)/classes.json", prefix: classes, data: UnsafeRawBufferPointer(start: nil, count: 0))
    let loader = try Loader(sequence, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs, logger: logger)
    defer { loader.close() }
    var report = ExportReport(directory: directory, workers: workers)
    var record = explain ? ExplainRecord(sequence) : nil
    while maxBatches.map({ report.batches < $0 }) ?? true, let batch = try loader.next() {
        try NPYWriter.write(batch, to: directory)
        if record != nil {
            let replaced = Set(loader.statistics.skipped.map(\.path))
            try record!.write(epoch: batch.epoch, index: batch.index, replaced: replaced, to: directory)
        }
        report.batches += 1
        report.images += batch.count
        onBatch(batch, loader)
        batch.release()
    }
    let stats = loader.statistics
    report.skipped = stats.skipped
    report.warnings = stats.warnings
    report.workerRestarts = stats.workerRestarts
    report.seconds = monotonicSeconds() - begin
    return report
}
