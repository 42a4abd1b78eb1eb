import ArgumentParser
import Augload

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
        let grid = try PreviewGrid.make(folder: folder, options: o, samples: samples, variants: variants)
        try PNGWriter.write(grid, to: output)
        print(
            "wrote \(output): \(grid.width)x\(grid.height), \(min(samples, folder.samples.count)) samples x (1 plain + \(variants) augmented)"
        )
    }
}
