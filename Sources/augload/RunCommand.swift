import ArgumentParser
import Augload
import FoundationEssentials

/// `augload run DIR`: the training-loop stub over DIR, with a report.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the training-loop stub over an image folder and report throughput (the default command).",
        discussion: """
            Pulls batches from the loader, runs a small real training step on each (it reads every pixel), and measures time waiting for data against time in the step.

            Examples:
              augload --workers 7 data/train
              augload run data/train --epochs 3 --crop resized --noise 0.05 --json
              augload run data/train --workers 0 --max-batches 10   # in-process
            """)

    @OptionGroup var options: SharedOptions
    @OptionGroup var worker: WorkerOption
    @OptionGroup var exclusion: ExcludeOption

    @Option(help: "Extra seconds per training step, to simulate a model's compute.")
    var stepTime: Double = 0

    @Flag(help: "Print the report as one JSON object on stdout (no progress, no summary).")
    var json = false

    func validate() throws {
        guard stepTime >= 0 && stepTime <= 60 else {
            throw ValidationError("--step-time must be in 0...60 seconds, got \(stepTime)")
        }
    }

    func run() throws {
        let sequence = try exclusion.apply(to: options.makeSequence())
        var step = ChannelStatisticsStep(classes: sequence.folder.classes.count)
        let progress = options.showsProgress(json: json) ? Progress(verb: "run", epochs: options.epochs) : nil
        let report = try fit(
            sequence, epochs: options.epochs, workers: worker.workers, maxQueueSize: options.queue, step: &step,
            callbacks: progress.map { [$0] } ?? [], stepTime: stepTime, maxBatches: options.maxBatches,
            logger: options.makeLogger())
        progress?.finish()
        if json {
            print(try RunJSON(report).encoded())
        } else {
            print(summary(report))
        }
    }

    func summary(_ r: FitReport) -> String {
        let skipped = r.skipped.isEmpty ? "no files skipped" : "\(r.skipped.count) files skipped"
        var line =
            "\(r.images) images in \(fixed(r.seconds, 2)) s: \(fixed(r.imagesPerSecond, 0)) img/s, first batch \(fixed(r.timeToFirstBatchSeconds, 3)) s, "
            + "data wait \(fixed(r.dataWaitFraction * 100, 1))%, \(r.workerRestarts) worker restarts, \(skipped)"
        if let c = r.cache {
            line +=
                "\ncache (\(c.kind)\(c.location.isEmpty ? "" : " " + c.location)): \(c.hits) hits, \(c.misses) misses, \(c.bypassed) bypassed, "
                + "\(c.entries) images in \(fixed(Double(c.bytes) / 1e6, 1)) MB"
                + (c.capacityBytes > 0 ? " of \(fixed(Double(c.capacityBytes) / 1e6, 0)) MB" : "")
                + (c.notStored > 0 ? ", \(c.notStored) not stored (full)" : "")
                + (2 * c.bypassed > c.hits + c.misses + c.bypassed
                    ? "\n  most samples bypass the cache (they decode at a JPEG DCT scale, which stored full-size pixels "
                        + "cannot reproduce): --cache-max-side N stores bounded images that serve them" : "")
        }
        for s in r.skipped { line += "\n  skipped \(s.path): \(s.error)" }
        for s in r.warnings { line += "\n  warning \(s.path): \(s.error)" }
        return line
    }
}

/// The `--json` report of `run` (its keys: docs/cli.md).
struct RunJSON: Encodable {
    var images: Int
    var batches: Int
    var epochs: Int
    var seconds: Double
    var images_per_second: Double
    var time_to_first_batch_seconds: Double
    var data_wait_fraction: Double
    var step_seconds: Double
    var wait_seconds: Double
    var workers: Int
    var worker_restarts: Int
    var skipped: [SkippedFile]
    var decode_warnings: [SkippedFile]
    var peak_rss_bytes: Int
    var final_loss: Double
    var cache: String?
    var cache_hits: Int
    var cache_misses: Int
    var cache_bypassed: Int
    var cache_bytes: Int
    var cache_entries: Int
    var cache_not_stored: Int
    var cache_capacity_bytes: Int
    var cache_bytes_at_start: Int

    init(_ r: FitReport) {
        images = r.images
        batches = r.batches
        epochs = r.epochs
        seconds = r.seconds
        images_per_second = r.imagesPerSecond
        time_to_first_batch_seconds = r.timeToFirstBatchSeconds
        data_wait_fraction = r.dataWaitFraction
        step_seconds = r.stepSeconds
        wait_seconds = r.waitSeconds
        workers = r.workers
        worker_restarts = r.workerRestarts
        skipped = r.skipped
        decode_warnings = r.warnings
        peak_rss_bytes = r.peakMemoryBytes
        final_loss = r.finalLoss
        let c = r.cache
        cache = c?.kind
        cache_hits = c?.hits ?? 0
        cache_misses = c?.misses ?? 0
        cache_bypassed = c?.bypassed ?? 0
        cache_bytes = c?.bytes ?? 0
        cache_entries = c?.entries ?? 0
        cache_not_stored = c?.notStored ?? 0
        cache_capacity_bytes = c?.capacityBytes ?? 0
        cache_bytes_at_start = c?.bytesAtStart ?? 0
    }
}

extension Encodable {
    /// One line of sorted-key JSON.
    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
