import ArgumentParser
import Augload

/// `augload pack DIR --out PREFIX`: a dataset written as WebDataset tar shards.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Write a dataset as WebDataset tar shards (the original image bytes, no re-encoding).",
        discussion: """
            Writes PREFIX-000000.tar, PREFIX-000001.tar, ... in the dataset's sample order: per sample KEY.jpg|.jpeg|.png (the file's bytes) and KEY.cls (its label), KEY being the sample index. Prints the shards' brace pattern on stdout, for --shards. Reading the shards gives the same batches as the dataset, byte for byte.

            Examples:
              augload pack data/train --out shards/train --shard-size 1G
              augload run --shards 'shards/train-{000000..000146}.tar'
            """)

    @OptionGroup var dataset: DatasetOptions
    @OptionGroup var output: OutputOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: "Shard name prefix: PREFIX-000000.tar, ...")
    var out: String

    @Option(help: "Most bytes per shard, like 1G or 500M (a larger single image gets a shard of its own).")
    var shardSize: String = "1G"

    func validate() throws {
        guard let bytes = CacheSetting.parseSize(shardSize), bytes >= 4096 else {
            throw ValidationError("--shard-size must be a size of at least 4K, like 1G or 500M, got \(shardSize)")
        }
    }

    func run() throws {
        let folder = try dataset.makeDataset()
        let progress = output.showsProgress(json: false)
        let total = folder.samples.count
        let report = try pack(folder, prefix: out, shardBytes: CacheSetting.parseSize(shardSize)!) { r in
            if progress { writeStderr("\rpack: \(r.samples)/\(total) samples, \(r.shards.count) shard(s)") }
        }
        if progress { writeStderr("\n") }
        print(report.spec)
        if !output.quiet {
            writeStderr("wrote \(report.samples) samples to \(report.shards.count) shard(s), \(megabytes(report.bytes))\n")
        }
    }
}
