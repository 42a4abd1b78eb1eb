import Logging

/// What `augload check` found: every file's verdict that is not good, and how fast it went.
public struct CheckReport: Sendable {
    /// One file that is not good.
    public struct Entry: Sendable {
        /// The file.
        public var path: String
        /// Refused (with the reason) or decoded with warnings.
        public var verdict: Verdict
    }
    /// Files checked.
    public var files = 0
    /// Files refused.
    public var refused = 0
    /// Files decoded with recovered warnings.
    public var warnings = 0
    /// Wall-clock seconds, from creating the loader (workers' start included) to the last verdict.
    public var seconds = 0.0
    /// Worker processes used (0: on the calling thread).
    public var workers = 0
    /// Workers that died and were replaced.
    public var workerRestarts = 0
    /// The refused and warned files, in the order checked.
    public var entries: [Entry] = []

    /// Files per second over the whole check.
    public var filesPerSecond: Double { seconds > 0 ? Double(files) / seconds : 0 }
}

/// Decodes every file of `paths` in full, spread over `workers` spawned worker processes, and
/// reports each file that is refused or decoded with warnings. A bad file never stops the check.
///
/// The verdicts are those every crop and size of a run gets (see ``Verdict``), so a file this
/// finds good never fails a run, and one it refuses always would.
///
///     let folder = try ImageFolder(root: "data/train")
///     let report = try check(paths: folder.samples.map(\.locator), workers: 2)
///     for e in report.entries { print(e.verdict.label, e.path, e.verdict.reason) }
///
/// - Parameters:
///   - onBatch: called with each batch's verdicts, in order (for streaming output and progress),
///     with the files done so far.
/// - Throws: ``LoaderError`` when the loader cannot run (spawning workers, shared memory).
public func check(
    paths: [String], options: DecodeOptions = .init(), workers: Int = 0, filesPerBatch: Int = 32,
    logger: Logger = Logger(label: "augload"),
    onBatch: ([(path: String, verdict: Verdict)], _ done: Int, _ loader: Loader) -> Void = { _, _, _ in }
) throws(LoaderError) -> CheckReport {
    let begin = monotonicSeconds()
    let source = VerdictSource(paths: paths, options: options, filesPerBatch: filesPerBatch)
    var report = CheckReport(workers: workers)
    guard !paths.isEmpty else { return report }
    // Enough slots that every worker has a batch in hand and one waiting.
    let loader = try Loader(source: source, workers: workers, maxQueueSize: max(4, 3 * workers), logger: logger)
    defer { loader.close() }
    while let batch = try loader.next() {
        let verdicts = source.verdicts(in: batch)
        batch.release()
        for (path, verdict) in verdicts {
            report.files += 1
            switch verdict {
            case .good: continue
            case .warnings: report.warnings += 1
            case .refused: report.refused += 1
            }
            report.entries.append(CheckReport.Entry(path: path, verdict: verdict))
        }
        onBatch(verdicts, report.files, loader)
    }
    report.workerRestarts = loader.statistics.workerRestarts
    report.seconds = monotonicSeconds() - begin
    return report
}
