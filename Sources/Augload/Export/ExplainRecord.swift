import AugloadCore
import FoundationEssentials

/// `export --explain`: beside each batch, `params-EEEE-BBBBBB.json`, one entry per sample — its
/// path, label, index in the dataset and the calls that made it (``Pipeline/explain(header:random:)``),
/// named as `torchvision.transforms.v2.functional` names them, so anyone can replay the batch.
///
/// Made in the exporting process from the batch's order and each file's header (no pixels, no
/// word from the workers): the draws are a pure function of (seed, epoch, sample) and the sizes.
/// A sample whose file was replaced under `--on-error skip` is listed with `"replaced": true` and
/// no calls (its replacement keeps its randomness but not its size); so is a file whose header
/// cannot be read. The Python client asks for a batch's record through `serve --explain`.
struct ExplainRecord {
    struct Entry: Encodable {
        var path: String
        var label: Int
        var sample: Int
        var replaced: Bool
        var ops: [ExplainCall]?
    }

    let sequence: ImageBatchSequence
    var file = FileBytes()

    init(_ sequence: ImageBatchSequence) { self.sequence = sequence }

    /// Writes `directory/params-EEEE-BBBBBB.json` for batch `index` of `epoch`; `replaced` holds
    /// the paths skipped so far.
    mutating func write(epoch: Int, index: Int, replaced: Set<String>, to directory: String) throws(LoaderError) {
        let bytes = try encoded(epoch: epoch, index: index, replaced: replaced)
        let name = "params-\(Self.pad(epoch, 4))-\(Self.pad(index, 6)).json"
        try NPYWriter.writeFile(path: "\(directory)/\(name)", prefix: bytes, data: UnsafeRawBufferPointer(start: nil, count: 0))
        if sequence.options.softLabels {
            let mix = try encodedMix(epoch: epoch, index: index)
            let mixName = "mix-\(Self.pad(epoch, 4))-\(Self.pad(index, 6)).json"
            try NPYWriter.writeFile(
                path: "\(directory)/\(mixName)", prefix: mix, data: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// The batch-level record of batch `index` of `epoch` as JSON (`mix-EEEE-BBBBBB.json`): the
    /// MixUp/CutMix draw (``BatchMix/explain(count:classes:smoothing:)``: `op` — `mixup`,
    /// `cutmix` or null —, `lambda`, `label_lambda`, `box` as `[x1, y1, x2, y2]`, `partner` of each
    /// sample, `num_classes`, `label_smoothing`), applied after every sample's own steps.
    func encodedMix(epoch: Int, index: Int) throws(LoaderError) -> [UInt8] {
        let count = sequence.batchCount(epoch: epoch)
        guard (0..<count).contains(index) else {
            throw LoaderError(.usage, "batch \(index) is out of range: epoch \(epoch) has \(count) batches")
        }
        let n = min(sequence.options.batchSize, sequence.samplesPerEpoch - index * sequence.options.batchSize)
        let record = sequence.batchMix(epoch: epoch, index: index).explain(
            count: n, classes: sequence.folder.classes.count, smoothing: sequence.options.labelSmoothing)
        do {
            return try TypeCodec.encodeJSON(record)
        } catch {
            throw LoaderError(.system, "cannot encode the mix record: \(error)")
        }
    }

    /// The record of batch `index` of `epoch` as JSON: a list of entries, one per sample.
    mutating func encoded(epoch: Int, index: Int, replaced: Set<String> = []) throws(LoaderError) -> [UInt8] {
        let order: ImageBatchSequence.Order
        do {
            order = try ImageBatchSequence.Order(try sequence.order(epoch: epoch, index: index))
        } catch let error as LoaderError {
            throw error
        } catch {
            throw LoaderError(.usage, "cannot explain batch \(index) of epoch \(epoch): \(error)")
        }
        var entries: [Entry] = []
        for sample in order.samples {
            var entry = Entry(
                path: Locator.reported(sample.path), label: Int(sample.label), sample: sample.index, replaced: true, ops: nil)
            if !replaced.contains(Locator.reported(sample.path)), let header = header(of: sample.path) {
                var random = SampleRandom(
                    seed: sequence.options.seed, epoch: epoch, sample: sample.index, stream: RandomStream.augment)
                entry.ops = sequence.pipeline.explain(header: header, random: &random)
                entry.replaced = false
            }
            entries.append(entry)
        }
        do {
            return try TypeCodec.encodeJSON(entries)
        } catch {
            throw LoaderError(.system, "cannot encode the explain record: \(error)")
        }
    }

    private mutating func header(of path: String) -> ImageHeader? {
        do throws(DecodeError) {
            try file.read(path: path)
            return try ImageDecoder.header(file.bytes, options: sequence.options.decode)
        } catch {
            return nil
        }
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
