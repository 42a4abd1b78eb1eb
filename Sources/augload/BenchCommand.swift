import ArgumentParser
import Augload

/// `augload bench DIR --workers 1,2,7`: throughput per worker count beside the decode ceiling.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the decode-only ceiling and the full pipeline per worker count, in one run.",
        discussion: """
            The ceiling decodes the same files on one core, from memory, with no augmentation. Each pipeline run reads, decodes, augments and hands over every batch of one epoch. "vs ceiling" is img/s divided by (ceiling img/s x the cores the workers can use): 1.00 means everything but decoding is free.

            Examples:
              augload bench data/train --workers 1,2,7
              augload bench data/train --workers 2 --images 2000 --crop resized --noise 0.05 --json
            """)

    @OptionGroup var options: SharedOptions

    @Option(help: "Comma-separated worker counts to measure.", transform: BenchCommand.parseCounts)
    var workers: [Int] = [1, 2]

    @Option(help: "Use only the first N images of the folder (0 = all).")
    var images: Int = 0

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
    }

    func run() throws {
        let folder = try ImageFolder(root: options.directory)
        let showProgress = options.showsProgress(json: json)
        let result = try Benchmark.measure(
            folder: folder, options: options.imageOptions, workerCounts: workers, maxQueueSize: options.queue,
            limit: images > 0 ? images : nil, logger: options.makeLogger()
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
        var rows = [
            ["", "workers", "img/s", "CPU ms/img", "vs ceiling", "first batch", "loader CPU/batch", "peak mem", "batches"]
        ]
        rows.append([
            "decode only", "1 core", fixed(c.imagesPerSecond, 0), fixed(c.cpuMillisecondsPerImage, 2), "1.00", "-", "-", "-", "-",
        ])
        for r in result.runs {
            rows.append([
                "pipeline", "\(r.workers)", fixed(r.imagesPerSecond, 0), fixed(r.cpuMillisecondsPerImage, 2),
                fixed(r.ratioToCeiling, 2), fixed(r.timeToFirstBatchSeconds, 3) + " s",
                fixed(r.loaderCPUMillisecondsPerBatch, 2) + " ms",
                megabytes(r.peakMemoryBytes),
                "\(r.batches)/\(r.expectedBatches)" + (r.complete ? "" : " INCOMPLETE"),
            ])
        }
        let widths = (0..<rows[0].count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        for row in rows {
            print(
                row.enumerated().map { i, cell in
                    i == 0
                        ? cell + String(repeating: " ", count: widths[i] - cell.count)
                        : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  "))
        }
        if c.failures > 0 { print("(\(c.failures) files failed to decode in the ceiling run)") }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
