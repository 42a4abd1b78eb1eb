import ArgumentParser
import Augload

/// `augload bench DIR --workers 1,2,7`: throughput per worker count beside the decode ceiling.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the decode-only ceiling and the full pipeline per worker count, in one run.",
        discussion: """
            The ceiling decodes the same files on one core, from memory, with no augmentation. Each pipeline run reads, decodes, augments and hands over every batch of one epoch. "img/s" covers the whole epoch, start-up included; the other columns are the steady state, from the first batch handed out to the last. "vs ceiling" is steady img/s divided by (ceiling img/s x the cores the workers can use) and "CPU vs decode" is CPU per image (loader and workers) divided by the ceiling's: 1.00 means everything but decoding is free. The ceiling is measured before each run and after the last; each run is compared with the two measurements around it. With --rounds N the whole sequence runs N times and a last table gives each worker count's median and range: on a shared machine single runs swing by 10 % or more. "hand-off/batch" and "consumer core" are the CPU the consuming thread spends per batch (waiting for, taking and releasing it; nothing is copied) and its share of one core; "loader core" is the whole loader process (consumer, dispatcher thread, memory sampling).

            Examples:
              augload bench data/train --workers 1,2,7
              augload bench data/train --workers 2 --images 2000 --crop resized --noise 0.05 --json
              augload bench data/train --workers 0,2 --images 1000 --rounds 5
              augload bench data/train --workers 2 --epochs 3 --cache ram   # each count without, then with the cache

            With --cache, every worker count runs without the cache and then with it, and the table adds the first epoch's img/s (start-up included; the cache is filled) and the later epochs' img/s (from the stored images) separately, with the cache's hits, misses, bypassed samples and size. A folder cache is kept between rounds and runs, so only its first run starts empty.
            """)

    @OptionGroup var options: SharedOptions

    @Option(help: "Comma-separated worker counts to measure.", transform: BenchCommand.parseCounts)
    var workers: [Int] = [1, 2]

    @Option(help: "Use only the first N images of the folder (0 = all).")
    var images: Int = 0

    @Option(
        help: ArgumentHelp(
            "Measure every worker count this many times, alternating with the ceiling, and print the median and range of each ratio.",
            discussion:
                "A shared machine's speed drifts by 10 % or more between runs; the median of several rounds is the figure to compare."
        ))
    var rounds: Int = 1

    @Flag(help: "Print the result as JSON on stdout.")
    var json = false

    static func parseCounts(_ text: String) throws -> [Int] {
        let counts = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 256 }) else {
            throw ValidationError("--workers takes comma-separated counts in 0...256, like 1,2,7; got '\(text)'")
        }
        return counts.map { $0! }
    }

    func validate() throws {
        guard images >= 0 else { throw ValidationError("--images must be >= 0, got \(images)") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100, got \(rounds)") }
    }

    func run() throws {
        let folder = try options.makeDataset()
        let showProgress = options.showsProgress(json: json)
        let result = try Benchmark.measure(
            folder: folder, options: options.imageOptions, workerCounts: workers, maxQueueSize: options.queue,
            limit: images > 0 ? images : nil, epochs: options.epochs, rounds: rounds, logger: options.makeLogger()
        ) { stage in
            if showProgress { writeStderr("\r\u{1B}[2Kbench: \(stage)…") }
        }
        if showProgress { writeStderr("\r\u{1B}[2K") }
        if json {
            print(try result.encoded())
            return
        }
        let c = result.ceiling
        print(
            "\(result.images) images, \(result.cores) cores; pipeline: size \(options.size), crop \(options.crop.rawValue), flip \(options.flip.rawValue), noise \(options.noise), \(options.dtype.rawValue) \(options.layout.rawValue), batch \(options.batchSize)"
        )
        // Whole epoch (start-up included), then the steady state from the first batch on; the
        // ratios compare the steady state with the ceiling measured just before and after the run.
        // Per-epoch columns when there is more than one epoch (or a cache, whose point they are).
        let perEpoch = options.cache != nil || options.epochs > 1
        var rows = [
            [
                "", "workers", "img/s", "steady img/s", "vs ceiling", "CPU ms/img", "CPU vs decode", "first batch",
                "hand-off/batch", "consumer core", "loader core", "peak mem", "batches",
            ] + (perEpoch ? ["cache", "epoch 1 img/s", "later img/s", "hits/misses/bypassed", "cache MB/img"] : [])
        ]
        rows.append(
            [
                "decode only", "1 core", fixed(c.imagesPerSecond, 0), fixed(c.imagesPerSecond, 0), "1.00",
                fixed(c.cpuMillisecondsPerImage, 2), "1.00", "-", "-", "-", "-", "-", "-",
            ] + (perEpoch ? ["-", "-", "-", "-", "-"] : []))
        for r in result.runs {
            // A steady state needs a batch after the first; with one batch there is none.
            let steady = r.batches > 1
            func s(_ text: @autoclosure () -> String) -> String { steady ? text() : "-" }
            rows.append(
                [
                    result.rounds > 1 ? "pipeline, round \(r.round)" : "pipeline", "\(r.workers)", fixed(r.imagesPerSecond, 0),
                    s(fixed(r.steadyImagesPerSecond, 0)),
                    s(fixed(r.steadyRatioToCeiling, 2)), s(fixed(r.steadyCPUMillisecondsPerImage, 2)),
                    s(fixed(r.steadyCPURatioToCeiling, 2)), fixed(r.timeToFirstBatchSeconds, 3) + " s",
                    s(fixed(r.steadyConsumerCPUMillisecondsPerBatch, 3) + " ms"),
                    s(fixed(r.steadyConsumerCoreFraction * 100, 2) + " %"),
                    s(fixed(r.steadyLoaderCoreFraction * 100, 1) + " %"),
                    megabytes(r.peakMemoryBytes),
                    "\(r.batches)/\(r.expectedBatches)" + (r.complete ? "" : " INCOMPLETE"),
                ] + (perEpoch ? cacheColumns(r) : []))
        }
        printTable(rows)
        if c.failures > 0 { print("(\(c.failures) files failed to decode in the ceiling run)") }
        guard result.rounds > 1 else { return }
        print("\nmedian over \(result.rounds) rounds (min-max):")
        func spread(_ v: Benchmark.Spread, _ digits: Int, _ unit: String = "") -> String {
            "\(fixed(v.median, digits))\(unit) (\(fixed(v.min, digits))-\(fixed(v.max, digits)))"
        }
        var summary = [
            ["workers", "steady img/s", "vs ceiling", "CPU vs decode", "first batch"]
                + (perEpoch ? ["cache", "epoch 1 img/s", "later img/s"] : [])
        ]
        for s in result.summaries {
            summary.append(
                [
                    "\(s.workers)", spread(s.steadyImagesPerSecond, 0), spread(s.steadyRatioToCeiling, 2),
                    spread(s.steadyCPURatioToCeiling, 2), spread(s.timeToFirstBatchSeconds, 3, " s"),
                ]
                    + (perEpoch
                        ? [s.cache ?? "none", spread(s.firstEpochImagesPerSecond, 0), spread(s.laterEpochsImagesPerSecond, 0)]
                        : []))
        }
        printTable(summary, leftAligned: false)
    }

    /// The per-epoch and cache cells of a run's row.
    private func cacheColumns(_ r: Benchmark.Run) -> [String] {
        let later = r.laterEpochsImagesPerSecond > 0
        var cells = [
            r.cache ?? "none", later ? fixed(r.firstEpochImagesPerSecond, 0) : "-",
            later ? fixed(r.laterEpochsImagesPerSecond, 0) : "-",
        ]
        if let s = r.cacheStatistics {
            cells.append("\(s.hits)/\(s.misses)/\(s.bypassed)")
            cells.append(s.entries > 0 ? fixed(Double(s.bytes) / Double(s.entries) / 1e6, 3) : "-")
        } else {
            cells += ["-", "-"]
        }
        return cells
    }

    /// Prints rows as columns: the first left-aligned (a label), the others right-aligned.
    private func printTable(_ rows: [[String]], leftAligned: Bool = true) {
        let widths = (0..<rows[0].count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        for row in rows {
            print(
                row.enumerated().map { i, cell in
                    i == 0 && leftAligned
                        ? cell + String(repeating: " ", count: widths[i] - cell.count)
                        : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  "))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
