import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What `fit` tells its callbacks after each batch.
public struct BatchLog: Sendable {
    /// The epoch this batch belongs to.
    public var epoch: Int
    /// The batch's index within its epoch.
    public var index: Int
    /// Images in the batch.
    public var images: Int
    /// The loss the training step returned for this batch.
    public var loss: Double
    /// Seconds this batch was waited for, and spent in the step.
    public var waitSeconds: Double
    /// Seconds spent in the training step for this batch (including any simulated `stepTime`).
    public var stepSeconds: Double
    /// Where to resume after this batch (save it with a checkpoint).
    public var resumePosition: Loader.Position
    /// Batches in this epoch, and finished batches waiting in the queue now.
    public var batchesInEpoch: Int
    /// Finished batches waiting in the loader's queue when this batch ended.
    public var queued: Int
    /// The decoded cache's counters after this batch (nil without a cache).
    public var cache: CacheStatistics? = nil
}

/// What `fit` tells its callbacks after each epoch.
public struct EpochLog: Sendable {
    /// The epoch that ended.
    public var epoch: Int
    /// Batches trained on in this epoch.
    public var batches: Int
    /// Images trained on in this epoch.
    public var images: Int
    /// Mean of the per-batch losses over the epoch.
    public var meanLoss: Double
    /// Wall-clock seconds the epoch took.
    public var seconds: Double
}

/// Hooks `fit` calls, Keras-style. All methods have empty defaults.
public protocol FitCallback: AnyObject {
    func batchEnded(_ log: BatchLog)
    func epochEnded(_ log: EpochLog)
}

extension FitCallback {
    /// Default: does nothing. See ``FitCallback/batchEnded(_:)``.
    public func batchEnded(_ log: BatchLog) {}
    /// Default: does nothing. See ``FitCallback/epochEnded(_:)``.
    public func epochEnded(_ log: EpochLog) {}
}

/// The figures of a `fit` run (the CLI prints them, or their JSON).
public struct FitReport: Sendable, Codable {
    /// Images trained on over the run.
    public var images = 0
    /// Batches trained on over the run.
    public var batches = 0
    /// Epochs run, counting a partly run last epoch.
    public var epochs = 0
    /// Wall-clock seconds of the whole run, including creating the loader.
    public var seconds = 0.0
    /// Images trained on per wall-clock second.
    public var imagesPerSecond = 0.0
    /// Seconds from creating the loader to the first batch handed out.
    public var timeToFirstBatchSeconds = 0.0
    /// Fraction of the run spent waiting for data (the rest is the step and bookkeeping).
    public var dataWaitFraction = 0.0
    /// Total seconds spent waiting for batches.
    public var waitSeconds = 0.0
    /// Total seconds spent in the training step.
    public var stepSeconds = 0.0
    /// Worker processes used (0: batches are made on the calling thread).
    public var workers = 0
    /// Workers that died and were replaced during the run.
    public var workerRestarts = 0
    /// Files that could not be decoded and were replaced.
    public var skipped: [SkippedFile] = []
    /// Files decoded although libjpeg recovered from corrupt data in them.
    public var warnings: [SkippedFile] = []
    /// The peak memory of the loader and its workers, shared pages counted once, in bytes.
    public var peakMemoryBytes = 0
    /// What the decoded cache did (nil without one).
    public var cache: CacheStatistics?
    /// The loss of the last batch.
    public var finalLoss = 0.0
    /// The position after the last batch (resume here).
    public var endEpoch = 0
    /// The batch index to resume at within `endEpoch`.
    public var endBatch = 0
}

/// Runs a training loop over `sequence`: pulls batches from a ``Loader``, trains `step` on each,
/// calls the callbacks, and measures time waiting for data against time in the step — the
/// figure that says whether the loader keeps up (Keras' `fit_generator`).
///
///     var step = ChannelStatisticsStep(classes: folder.classes.count)
///     let report = try fit(sequence, epochs: 2, workers: 7, step: &step)
///     print(report.imagesPerSecond, report.dataWaitFraction)
///
/// - Parameters:
///   - stepTime: extra seconds per batch to simulate a model's compute (slept, not spun).
///   - maxBatches: stop after this many batches in total.
/// - Throws: ``LoaderError`` from the loader.
@discardableResult
public func fit<S: DataSequence, Step: TrainingStep>(
    _ sequence: S, epochs: Int = 1, workers: Int = 0, maxQueueSize: Int = Loader.defaultQueue, step: inout Step,
    callbacks: [any FitCallback] = [], stepTime: Double = 0, maxBatches: Int? = nil, start: Loader.Position = .init(),
    logger: Logger = Logger(label: "augload")
) throws(LoaderError) -> FitReport {
    let begin = monotonicSeconds()
    let loader = try Loader(sequence, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs, start: start, logger: logger)
    defer { loader.close() }
    var report = FitReport()
    report.workers = workers
    var epochStart = monotonicSeconds()
    var epochBatches = 0
    var epochImages = 0
    var epochLoss = 0.0
    var currentEpoch: Int? = nil
    func endEpoch(_ epoch: Int) {
        let log = EpochLog(
            epoch: epoch, batches: epochBatches, images: epochImages, meanLoss: epochLoss / Double(max(epochBatches, 1)),
            seconds: monotonicSeconds() - epochStart)
        for c in callbacks { c.epochEnded(log) }
        report.epochs += 1
    }
    while maxBatches.map({ report.batches < $0 }) ?? true {
        let waitStart = monotonicSeconds()
        guard let batch = try loader.next() else { break }
        let wait = monotonicSeconds() - waitStart
        if let e = currentEpoch, e != batch.epoch {
            endEpoch(e)
            epochStart = monotonicSeconds()
            epochBatches = 0
            epochImages = 0
            epochLoss = 0
        }
        currentEpoch = batch.epoch
        let stepStart = monotonicSeconds()
        let loss = step.train(on: batch)
        if stepTime > 0 { usleep(UInt32(stepTime * 1e6)) }
        let stepSeconds = monotonicSeconds() - stepStart
        let log = BatchLog(
            epoch: batch.epoch, index: batch.index, images: batch.count, loss: loss, waitSeconds: wait, stepSeconds: stepSeconds,
            resumePosition: loader.position, batchesInEpoch: loader.batchCount(epoch: batch.epoch), queued: loader.queuedBatches,
            cache: loader.cacheStatistics)
        batch.release()
        report.batches += 1
        report.images += log.images
        report.waitSeconds += wait
        report.stepSeconds += stepSeconds
        report.finalLoss = loss
        epochBatches += 1
        epochImages += log.images
        epochLoss += loss
        for c in callbacks { c.batchEnded(log) }
    }
    if let e = currentEpoch { endEpoch(e) }
    let stats = loader.statistics
    report.seconds = monotonicSeconds() - begin
    report.imagesPerSecond = report.seconds > 0 ? Double(report.images) / report.seconds : 0
    report.timeToFirstBatchSeconds = stats.timeToFirstBatch ?? 0
    report.dataWaitFraction = report.seconds > 0 ? report.waitSeconds / report.seconds : 0
    report.workerRestarts = stats.workerRestarts
    report.skipped = stats.skipped
    report.warnings = stats.warnings
    report.peakMemoryBytes = stats.peakMemoryBytes
    report.cache = stats.cache
    let end = loader.position
    report.endEpoch = end.epoch
    report.endBatch = end.batch
    return report
}
