import ArgumentParser
import Augload
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `augload check DIR`: decode every file in full with the worker pool; list the bad ones.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Decode every image in full (with the worker pool) and list each refused or suspicious file.",
        discussion: """
            Prints one line per file that is refused ("refused PATH: reason") or decoded although libjpeg had to recover from corrupt data ("warning PATH: reason"), then a summary. A file's verdict is the one every run gets, whatever its crop, size, seed or worker count: a file check finds good never fails a run, and one it refuses always would (run --on-error fail stops on it, skip replaces it). With --strict, warnings are refusals, as in run --strict. Exit status: 1 when any file is refused, 0 otherwise (warnings alone exit 0), 2 on bad usage.

            Examples:
              augload check data/train
              augload check data/train --workers 2 --json > verdicts.json
              augload check data/train --strict --write-exclude bad-files.txt
              augload check --files train.csv --workers 2
            """)

    @OptionGroup var dataset: DatasetOptions

    @OptionGroup var worker: WorkerOption

    @Flag(help: "Print the report as one JSON object on stdout (files, bad, warnings, seconds, files_per_second, verdicts).")
    var json = false

    @Flag(help: "Treat libjpeg warnings (corrupt data it recovered from) as refusals.")
    var strict = false

    @Option(help: "Also write the refused files' paths to this file, one per line.", completion: .file())
    var writeExclude: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let folder = try dataset.makeDataset()
        let paths = folder.samples.map(\.locator)
        let terminal = output.showsProgress(json: json)
        let filesPerBatch = 32
        let progress = terminal ? Progress(verb: "check", epochs: 1) : nil
        let logger = output.makeLogger()
        let total = (paths.count + filesPerBatch - 1) / filesPerBatch
        var batches = 0
        let report = try check(
            paths: paths, options: DecodeOptions(strict: strict), workers: worker.workers, filesPerBatch: filesPerBatch,
            logger: logger
        ) { verdicts, _, loader in
            batches += 1
            if !json {
                let bad = verdicts.filter { $0.verdict != .good }
                if !bad.isEmpty { progress?.finish() }  // the line goes above the bar
                for (path, verdict) in bad { print("\(verdict.label) \(Locator.display(path)): \(verdict.reason)") }
            }
            progress?.advance(epoch: 0, done: batches, total: total, images: verdicts.count, queued: loader.queuedBatches)
        }
        progress?.finish()
        if json {
            print(try CheckJSON(report).encoded())
        } else {
            print(
                "checked \(report.files) files in \(fixed(report.seconds, 2)) s (\(fixed(report.filesPerSecond, 0)) files/s, \(report.workers) workers): \(report.refused) refused, \(report.warnings) with warnings"
            )
        }
        if let writeExclude {
            // The paths' own bytes (a name need not be UTF-8), as the exclude list reads them back.
            let refused = report.entries.filter { $0.verdict.isRefused }.map { Locator.reported($0.path) + "\n" }.joined()
            try writeText(refused, to: writeExclude)
        }
        if report.refused > 0 { throw ExitCode.failure }
    }

    /// Writes `text` to `path` (created or truncated), through the one syscall funnel.
    private func writeText(_ text: String, to path: String) throws {
        do throws(SystemError) {
            let fd = try Syscall.retrying("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
            defer { Syscall.close(fd) }
            let failure: Int32 = Locator.cString(text).dropLast().map { UInt8(bitPattern: $0) }.withUnsafeBytes { buffer in
                var done = 0
                while done < buffer.count {
                    do throws(SystemError) {
                        done += try Syscall.retrying("write") { write(fd, buffer.baseAddress! + done, buffer.count - done) }
                    } catch {
                        return error.errno
                    }
                }
                return 0
            }
            if failure != 0 { throw SystemError("write \(path)", errno: failure) }
        } catch {
            throw LoaderError(.system, "cannot write \(path): \(error.reason)", path: path)
        }
    }
}

/// The `--json` report of `check`.
struct CheckJSON: Encodable {
    struct Entry: Encodable {
        var path: String
        var verdict: String
        var code: String
        var reason: String
    }
    var files: Int
    var bad: Int
    var warnings: Int
    var seconds: Double
    var files_per_second: Double
    var workers: Int
    var worker_restarts: Int
    var verdicts: [Entry]

    init(_ r: CheckReport) {
        files = r.files
        bad = r.refused
        warnings = r.warnings
        seconds = r.seconds
        files_per_second = r.filesPerSecond
        workers = r.workers
        worker_restarts = r.workerRestarts
        verdicts = r.entries.map {
            Entry(
                path: Locator.reported($0.path), verdict: $0.verdict.label, code: $0.verdict.code ?? "", reason: $0.verdict.reason
            )
        }
    }
}
