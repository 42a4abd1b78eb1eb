import ArgumentParser
import Augload

/// `augload export DIR --out OUT`: the loader's batches as NumPy files.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the batches the loader produces as NumPy .npy files.",
        discussion: """
            Writes OUT/images-EEEE-BBBBBB.npy and OUT/labels-EEEE-BBBBBB.npy (epoch, batch index) and OUT/classes.json. In Python: numpy.load('OUT/images-0000-000000.npy').

            Examples:
              augload export data/train --out batches/ --batch-size 32 --dtype uint8
              augload export data/train --out raw/ --batch-size 1 --size 0 --crop none --flip none \\
                  --noise 0 --no-shuffle --dtype uint8     # exactly what the decoder saw
            """)

    @OptionGroup var options: SharedOptions
    @OptionGroup var worker: WorkerOption
    @OptionGroup var exclusion: ExcludeOption

    @Option(name: [.customLong("out"), .customShort("o")], help: "Output folder (created if missing).")
    var out: String

    @Flag(help: "Print the export report as JSON on stdout.")
    var json = false

    @Flag(
        help:
            "Also write OUT/params-EEEE-BBBBBB.json: every sample's steps and drawn parameters, named as torchvision.transforms.v2.functional calls, so a replay in torchvision can check the batch."
    )
    var explain = false

    func run() throws {
        let sequence = try exclusion.apply(to: options.makeSequence())
        let progress = options.showsProgress(json: json) ? Progress(verb: "export", epochs: options.epochs) : nil
        let report = try export(
            sequence, to: out, epochs: options.epochs, workers: worker.workers, maxQueueSize: options.queue,
            maxBatches: options.maxBatches, explain: explain, logger: options.makeLogger()
        ) { batch, loader in
            progress?.advance(
                epoch: batch.epoch, done: batch.index + 1, total: loader.batchCount(epoch: batch.epoch), images: batch.count,
                queued: loader.queuedBatches)
        }
        progress?.finish()
        if json {
            print(try report.encoded())
        } else {
            print("wrote \(report.batches) batches (\(report.images) images) to \(out) in \(fixed(report.seconds, 2)) s")
            for s in report.skipped { print("  skipped \(Locator.display(s.path)): \(s.error)") }
            for s in report.warnings { print("  warning \(Locator.display(s.path)): \(s.error)") }
        }
    }
}
