/// A contact sheet of augmented samples: one row per sample, its plain centre crop first, then
/// `variants` augmentations of it (each from a different epoch's randomness), so a person sees at a
/// glance what flips, crops and noise do.
public enum PreviewGrid {
    /// Builds the grid image (RGB8). Cells are `options.size` square, separated by `gap` pixels of
    /// dark grey.
    /// - Parameter explain: called for every cell with its row, column, file and the calls that
    ///   made it (``Pipeline/explain(header:random:)``), for `preview --explain`.
    /// - Throws: ``LoaderError`` naming a file that cannot be decoded.
    public static func make(
        folder: ImageFolder, options: ImageBatchOptions, samples: Int, variants: Int, gap: Int = 4,
        explain: ((_ row: Int, _ column: Int, _ path: String, _ calls: [ExplainCall]) -> Void)? = nil
    ) throws(LoaderError) -> Image {
        precondition(samples >= 1 && variants >= 1, "need at least one sample and one variant")
        let side = options.size > 0 ? options.size : 224
        var plain = options
        plain.size = side
        plain.crop = .center
        plain.flip = .none
        plain.noise = 0
        plain.autoAugment = nil
        plain.colorJitter = nil
        plain.grayscale = 0
        plain.blur = nil
        plain.erasing = 0
        var augmented = options
        augmented.size = side
        let sequence = try ImageBatchSequence(folder: folder, options: augmented)
        let picks = Array(sequence.sampleOrder(epoch: 0).prefix(samples))
        let columns = variants + 1
        var grid = Image(
            width: columns * side + (columns + 1) * gap, height: picks.count * side + (picks.count + 1) * gap, fill: 40)
        var workspace = Pipeline.Workspace()
        var cell = Image()
        for (row, index) in picks.enumerated() {
            let path = folder.samples[index].locator
            for column in 0..<columns {
                let pipeline = column == 0 ? plain.pipeline : augmented.pipeline
                var random = SampleRandom(seed: options.seed, epoch: column - 1, sample: index, stream: RandomStream.augment)
                do throws(DecodeError) {
                    try workspace.file.read(path: path)
                    if let explain {
                        var again = random
                        let header = try ImageDecoder.header(workspace.file.bytes, options: pipeline.decodeOptions)
                        explain(row, column, path, pipeline.explain(header: header, random: &again))
                    }
                    cell = try pipeline.augment(bytes: workspace.file.bytes, random: &random, workspace: &workspace)
                } catch {
                    throw LoaderError(.badFile, error.at(path).description, path: Locator.reported(path))
                }
                paste(cell, into: &grid, x: gap + column * (side + gap), y: gap + row * (side + gap))
            }
        }
        return grid
    }

    static func paste(_ cell: Image, into grid: inout Image, x: Int, y: Int) {
        let w = min(cell.width, grid.width - x)
        for row in 0..<min(cell.height, grid.height - y) {
            for i in 0..<(w * 3) {
                grid.pixels[((y + row) * grid.width + x) * 3 + i] = cell.pixels[row * cell.width * 3 + i]
            }
        }
    }
}
