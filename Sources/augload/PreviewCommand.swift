import ArgumentParser
import Augload
import FoundationEssentials

/// `augload preview DIR -o grid.png`: see what the augmentations do.
struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write a PNG grid of samples and their augmented variants.",
        discussion: """
            One row per sample: first its plain centre crop, then --variants augmentations of it, each with a different epoch's randomness.

            Examples:
              augload preview data/train -o grid.png
              augload preview data/train -o grid.png --samples 4 --variants 6 --crop resized --flip hv --noise 0.08
            """)

    @OptionGroup var options: SharedOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: "The PNG file to write.")
    var output: String

    @Option(help: "Samples (rows).")
    var samples: Int = 6

    @Option(help: "Augmented variants per sample (columns after the plain one).")
    var variants: Int = 5

    @Flag(
        help:
            "Also write OUTPUT.json: every cell's steps and drawn parameters, named as torchvision.transforms.v2.functional calls."
    )
    var explain = false

    func validate() throws {
        guard (1...64).contains(samples) else { throw ValidationError("--samples must be in 1...64, got \(samples)") }
        guard (1...32).contains(variants) else { throw ValidationError("--variants must be in 1...32, got \(variants)") }
        guard options.size <= 1024 else {
            throw ValidationError("--size for a preview must be at most 1024, got \(options.size)")
        }
    }

    func run() throws {
        let folder = try options.makeDataset()
        var o = options.imageOptions
        o.dtype = .uint8
        var cells: [PreviewCell] = []
        let grid = try PreviewGrid.make(
            folder: folder, options: o, samples: samples, variants: variants,
            explain: explain ? { cells.append(PreviewCell(row: $0, column: $1, path: $2, ops: $3)) } : nil)
        try PNGWriter.write(grid, to: output)
        if explain {
            let json = (output.hasSuffix(".png") ? String(output.dropLast(4)) : output) + ".json"
            let bytes = try JSONEncoder().encode(cells)
            guard FileManager.default.createFile(atPath: json, contents: bytes) else {
                throw LoaderError(.system, "cannot write \(json)", path: json)
            }
        }
        print(
            "wrote \(output): \(grid.width)x\(grid.height), \(min(samples, folder.samples.count)) samples x (1 plain + \(variants) augmented)"
        )
    }
}

/// One cell of `preview --explain`'s record.
struct PreviewCell: Encodable {
    var row: Int
    var column: Int
    var path: String
    var ops: [ExplainCall]
}
