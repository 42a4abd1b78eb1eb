import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Throughput measured side by side in one run: the decode-only ceiling and the full pipeline
/// for several worker counts, on the same files (what `augload bench` prints).
///
/// Why ratios: on a shared 2-core machine absolute times move from run to run, but the ratio of
/// the pipeline's rate to `ceiling × cores` measured in the same run is stable enough to compare.
public enum Benchmark {
    /// Decoding alone, one core, files already in memory.
    public struct Ceiling: Sendable, Codable {
        /// Files decoded successfully.
        public var images = 0
        /// Files read that failed to decode.
        public var failures = 0
        /// Wall-clock seconds spent decoding.
        public var seconds = 0.0
        /// Decoded images per wall-clock second.
        public var imagesPerSecond = 0.0
        /// CPU milliseconds of the decoding thread per decoded image.
        public var cpuMillisecondsPerImage = 0.0
    }

    /// The full pipeline with one worker count.
    public struct Run: Sendable, Codable {
        /// Worker processes (0: decoding on the loader's thread).
        public var workers = 0
        /// Which round of the measurement this run belongs to (1-based).
        public var round = 1
        /// Images delivered.
        public var images = 0
        /// Batches delivered.
        public var batches = 0
        /// Batches the epoch should have.
        public var expectedBatches = 0
        /// Every batch index arrived exactly once, in order.
        public var complete = false
        /// Wall-clock seconds of the run, including starting and closing the loader.
        public var seconds = 0.0
        /// Delivered images per wall-clock second.
        public var imagesPerSecond = 0.0
        /// Loader and workers together.
        public var cpuMillisecondsPerImage = 0.0
        /// imagesPerSecond / (ceiling × min(max(workers, 1), cores)).
        public var ratioToCeiling = 0.0
        /// Seconds from creating the loader to the first batch handed out.
        public var timeToFirstBatchSeconds = 0.0
        /// CPU the loader process itself spent per batch (dispatching, hand-off, bookkeeping; with
        /// workers 0 this includes all the decoding), and as a share of one core over the run.
        public var loaderCPUMillisecondsPerBatch = 0.0
        /// The loader process's CPU time as a fraction of one core over the run.
        public var loaderCoreFraction = 0.0
        /// Steady state, from the first batch handed out to the last (start-up excluded): images per
        /// wall-clock second.
        public var steadyImagesPerSecond = 0.0
        /// steadyImagesPerSecond / (ceiling × min(max(workers, 1), cores)), with the ceiling measured
        /// just before and just after this run.
        public var steadyRatioToCeiling = 0.0
        /// Steady state: CPU of the loader and its workers per image.
        public var steadyCPUMillisecondsPerImage = 0.0
        /// steadyCPUMillisecondsPerImage / the ceiling's CPU per image.
        public var steadyCPURatioToCeiling = 0.0
        /// Steady state: CPU of the loader process per batch (hand-off, dispatch, bookkeeping).
        public var steadyLoaderCPUMillisecondsPerBatch = 0.0
        /// Steady state: the loader process's CPU as a fraction of one core.
        public var steadyLoaderCoreFraction = 0.0
        /// Steady state: CPU of the consuming thread per batch — waiting for, taking and releasing a
        /// batch (the hand-off; nothing is copied).
        public var steadyConsumerCPUMillisecondsPerBatch = 0.0
        /// Steady state: the consuming thread's CPU as a fraction of one core.
        public var steadyConsumerCoreFraction = 0.0
        /// The peak memory of the loader and its workers, shared pages counted once, in bytes.
        public var peakMemoryBytes = 0
        /// Workers that died and were replaced.
        public var workerRestarts = 0
        /// Files skipped because they could not be decoded.
        public var skipped = 0
        /// The decoded cache of this run (`ram`, `ram:SIZE` or a folder), nil without one.
        public var cache: String?
        /// Images per second of the first epoch, from creating the loader to the first batch of
        /// the second epoch (0 with one epoch).
        public var firstEpochImagesPerSecond = 0.0
        /// Images per second of the epochs after the first (0 with one epoch).
        public var laterEpochsImagesPerSecond = 0.0
        /// What the decoded cache did (nil without one).
        public var cacheStatistics: CacheStatistics?
    }

    /// The median and the range of one figure over the rounds of a measurement.
    public struct Spread: Sendable, Codable, Equatable {
        public var median = 0.0
        public var min = 0.0
        public var max = 0.0

        public init(_ values: [Double]) {
            let sorted = values.sorted()
            guard let lo = sorted.first, let hi = sorted.last else { return }
            let mid = sorted.count / 2
            median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            min = lo
            max = hi
        }
    }

    /// One worker count over all rounds: the ratios' medians are what a noisy machine can vouch
    /// for; single rounds swing with the host's speed.
    public struct Summary: Sendable, Codable {
        public var workers = 0
        /// The decoded cache of these runs (nil without one).
        public var cache: String?
        public var firstEpochImagesPerSecond = Spread([])
        public var laterEpochsImagesPerSecond = Spread([])
        /// Rounds the figures come from.
        public var rounds = 0
        public var steadyImagesPerSecond = Spread([])
        public var steadyRatioToCeiling = Spread([])
        public var steadyCPURatioToCeiling = Spread([])
        public var timeToFirstBatchSeconds = Spread([])
    }

    /// Everything one benchmark measured: the machine, the ceiling and one run per worker count
    /// and round.
    public struct Result: Sendable, Codable {
        /// Online processor cores of the machine.
        public var cores = 0
        /// Samples measured.
        public var images = 0
        /// Rounds: each measures every worker count once, in the order given.
        public var rounds = 1
        /// The decode-only ceiling: the mean of the measurements taken before each run and after
        /// the last (the machine's speed drifts; each run is compared with its neighbours).
        public var ceiling = Ceiling()
        /// One run per requested worker count and round, round by round.
        public var runs: [Run] = []
        /// Per worker count, in the order given: the steady-state figures over all rounds.
        public var summaries: [Summary] = []
    }

    /// Measures `folder` (its first `limit` samples) with `options`: `rounds` times over, each
    /// round running every worker count once, with a ceiling measured between any two runs.
    public static func measure(
        folder: ImageFolder, options: ImageBatchOptions, workerCounts: [Int], maxQueueSize: Int = Loader.defaultQueue, limit: Int? = nil,
        epochs: Int = 1, rounds: Int = 1,
        logger: Logger = Logger(label: "augload"), progress: (String) -> Void = { _ in }
    ) throws(LoaderError) -> Result {
        let samples = limit.map { Array(folder.samples.prefix($0)) } ?? folder.samples
        let subset = ImageFolder(root: folder.root, classes: folder.classes, samples: samples)
        var result = Result()
        result.cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        result.images = samples.count
        result.rounds = max(rounds, 1)
        // Files are read again for each ceiling (from the page cache) rather than kept: held, they
        // would count in the runs' memory.
        let paths = samples.map(\.locator)
        let label = { (round: Int) in result.rounds > 1 ? "round \(round)/\(result.rounds): " : "" }
        progress("\(label(1))decode-only ceiling")
        var ceilings = [ceiling(paths, options: options.decode)]
        // With a cache, every worker count runs without it, then with it: their ratio in one run.
        let caches: [String?] = options.cache == nil ? [nil] : [nil, options.cache]
        let columns = workerCounts.flatMap { w in caches.map { (workers: w, cache: $0) } }
        for round in 1...result.rounds {
            for (workers, cache) in columns {
                progress("\(label(round))pipeline, \(workers) workers\(cache.map { ", cache " + $0 } ?? "")")
                var runOptions = options
                runOptions.cache = cache
                var run = try pipeline(
                    subset, options: runOptions, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs,
                    logger: logger)
                run.round = round
                progress("\(label(round))decode-only ceiling")
                ceilings.append(ceiling(paths, options: options.decode))
                let around = mean(ceilings.suffix(2))
                let cores = Double(min(max(workers, 1), result.cores))
                if around.imagesPerSecond > 0 {
                    run.ratioToCeiling = run.imagesPerSecond / (around.imagesPerSecond * cores)
                    run.steadyRatioToCeiling = run.steadyImagesPerSecond / (around.imagesPerSecond * cores)
                }
                if around.cpuMillisecondsPerImage > 0 {
                    run.steadyCPURatioToCeiling = run.steadyCPUMillisecondsPerImage / around.cpuMillisecondsPerImage
                }
                result.runs.append(run)
            }
        }
        result.ceiling = mean(ceilings[...])
        result.summaries = columns.enumerated().map { position, column in
            // A worker count may be listed twice; each listing is its own column of runs.
            let runs = result.runs.enumerated().filter { $0.offset % columns.count == position }.map(\.element)
            var summary = Summary()
            summary.workers = column.workers
            summary.cache = column.cache
            summary.firstEpochImagesPerSecond = Spread(runs.map(\.firstEpochImagesPerSecond))
            summary.laterEpochsImagesPerSecond = Spread(runs.map(\.laterEpochsImagesPerSecond))
            summary.rounds = runs.count
            summary.steadyImagesPerSecond = Spread(runs.map(\.steadyImagesPerSecond))
            summary.steadyRatioToCeiling = Spread(runs.map(\.steadyRatioToCeiling))
            summary.steadyCPURatioToCeiling = Spread(runs.map(\.steadyCPURatioToCeiling))
            summary.timeToFirstBatchSeconds = Spread(runs.map(\.timeToFirstBatchSeconds))
            return summary
        }
        return result
    }

    /// The average of several ceiling measurements (rates and CPU per image averaged).
    static func mean(_ list: ArraySlice<Ceiling>) -> Ceiling {
        guard var m = list.first else { return Ceiling() }
        let n = Double(list.count)
        m.seconds = list.map(\.seconds).reduce(0, +) / n
        m.imagesPerSecond = list.map(\.imagesPerSecond).reduce(0, +) / n
        m.cpuMillisecondsPerImage = list.map(\.cpuMillisecondsPerImage).reduce(0, +) / n
        return m
    }

    /// Decodes every file once on this thread, from memory (the files are read first, untimed).
    public static func ceiling(_ paths: [String], options: DecodeOptions) -> Ceiling {
        var files: [[UInt8]] = []
        var reader = FileBytes()
        for p in paths {
            if (try? reader.read(path: p)) != nil { files.append(reader.bytes) }
        }
        var image = Image()
        var c = Ceiling()
        let wall0 = monotonicSeconds()
        let cpu0 = threadCPUSeconds()
        for bytes in files {
            if (try? ImageDecoder.decode(bytes, into: &image, options: options)) != nil { c.images += 1 } else { c.failures += 1 }
        }
        c.seconds = monotonicSeconds() - wall0
        let cpu = threadCPUSeconds() - cpu0
        c.imagesPerSecond = c.seconds > 0 ? Double(c.images) / c.seconds : 0
        c.cpuMillisecondsPerImage = c.images > 0 ? cpu * 1000 / Double(c.images) : 0
        return c
    }

    static func pipeline(
        _ folder: ImageFolder, options: ImageBatchOptions, workers: Int, maxQueueSize: Int, epochs: Int, logger: Logger
    ) throws(LoaderError) -> Run {
        let sequence = try ImageBatchSequence(folder: folder, options: options)
        var run = Run()
        run.workers = workers
        run.cache = options.cache
        run.expectedBatches = (0..<epochs).map { sequence.batchCount(epoch: $0) }.reduce(0, +)
        let cpu0 = processTreeCPUSeconds()
        let self0 = cpuSeconds(RUSAGE_SELF)
        let wall0 = monotonicSeconds()
        let loader = try Loader(sequence, workers: workers, maxQueueSize: maxQueueSize, epochs: epochs, logger: logger)
        var inOrder = true
        var expected = (epoch: 0, index: 0)
        // The steady state starts when the first batch is in hand: workers are up, slots mapped.
        var first: (wall: Double, tree: Double, loader: Double, consumer: Double, images: Int)?
        // When the second epoch's first batch arrived, and the images delivered with it: the later
        // epochs' rate counts the batches after it (as the steady state does after the first
        // batch), so a batch made ahead during the first epoch does not inflate it.
        var secondEpoch: (wall: Double, before: Int, through: Int)?
        while let batch = try loader.next() {
            if batch.epoch >= 1 && secondEpoch == nil {
                secondEpoch = (monotonicSeconds(), run.images, run.images + batch.count)
            }
            if batch.index == 0 && batch.epoch == expected.epoch + 1 && expected.index > 0 { expected = (batch.epoch, 0) }
            if (batch.epoch, batch.index) != expected { inOrder = false }
            expected.index += 1
            run.batches += 1
            run.images += batch.count
            batch.release()
            if first == nil {
                first = (
                    monotonicSeconds(), treeCPUSeconds(loader), cpuSeconds(RUSAGE_SELF), threadCPUSeconds(), run.images
                )
            }
        }
        if let first, run.batches > 1 {
            let wall = monotonicSeconds() - first.wall
            let loaderCPU = cpuSeconds(RUSAGE_SELF) - first.loader
            let consumerCPU = threadCPUSeconds() - first.consumer
            let images = Double(run.images - first.images)
            run.steadyImagesPerSecond = wall > 0 ? images / wall : 0
            run.steadyCPUMillisecondsPerImage = (treeCPUSeconds(loader) - first.tree) * 1000 / images
            run.steadyLoaderCPUMillisecondsPerBatch = loaderCPU * 1000 / Double(run.batches - 1)
            run.steadyLoaderCoreFraction = wall > 0 ? loaderCPU / wall : 0
            run.steadyConsumerCPUMillisecondsPerBatch = consumerCPU * 1000 / Double(run.batches - 1)
            run.steadyConsumerCoreFraction = wall > 0 ? consumerCPU / wall : 0
        }
        if let secondEpoch {
            let end = monotonicSeconds()
            // The first epoch: its images, from the loader's creation to the second epoch's first batch.
            run.firstEpochImagesPerSecond = Double(secondEpoch.before) / max(secondEpoch.wall - wall0, 1e-9)
            run.laterEpochsImagesPerSecond = Double(run.images - secondEpoch.through) / max(end - secondEpoch.wall, 1e-9)
        }
        let selfCPU = cpuSeconds(RUSAGE_SELF) - self0
        let stats = loader.statistics
        loader.close()
        run.seconds = monotonicSeconds() - wall0
        let cpu = processTreeCPUSeconds() - cpu0
        run.complete = inOrder && run.batches == run.expectedBatches && run.images == sequence.samplesPerEpoch * epochs
        run.imagesPerSecond = run.seconds > 0 ? Double(run.images) / run.seconds : 0
        run.cpuMillisecondsPerImage = run.images > 0 ? cpu * 1000 / Double(run.images) : 0
        run.timeToFirstBatchSeconds = stats.timeToFirstBatch ?? 0
        run.loaderCPUMillisecondsPerBatch = run.batches > 0 ? selfCPU * 1000 / Double(run.batches) : 0
        run.loaderCoreFraction = run.seconds > 0 ? selfCPU / run.seconds : 0
        run.peakMemoryBytes = stats.peakMemoryBytes
        run.workerRestarts = stats.workerRestarts
        run.skipped = stats.skipped.count
        run.cacheStatistics = stats.cache
        return run
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU time of this process and the loader's live workers (workers at clock-tick resolution).
    static func treeCPUSeconds(_ loader: Loader) -> Double {
        loader.producer.workerProcessIDs.reduce(cpuSeconds(RUSAGE_SELF)) { $0 + ProcessProbe.cpuSeconds(pid: $1) }
    }

    /// CPU time of this process plus its reaped children (workers are reaped by `close`).
    static func processTreeCPUSeconds() -> Double { cpuSeconds(RUSAGE_SELF) + cpuSeconds(RUSAGE_CHILDREN) }

    static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) * 1e-6
    }
}
