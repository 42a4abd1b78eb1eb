import AugloadCore

/// Datasets stored as WebDataset tar shards, on disk or at `http(s)://` URLs (``ShardSpec``,
/// ``ShardIndex``): each sample is an image member of a shard. Everything above the dataset —
/// order, shuffle, ranks, resume, the decoded cache, the verdicts — is the folder's: the same
/// images in the same order give the same batches, byte for byte.
extension ImageFolder {
    /// The samples of the shards `specs` name (each a brace pattern, a folder of `.tar` files, a
    /// `.tar`, a URL or a list file), in order; `label` is the extension of the member holding
    /// each sample's label (`cls`: an integer; another: a class name).
    ///
    ///     let shards = try ImageFolder(shards: ["data/train-{000000..000127}.tar"])
    ///
    /// - Throws: ``LoaderError`` (`.dataset`) naming the shard: missing, unreadable, no images,
    ///   a sample without its label member, a label that is not an integer.
    public init(shards specs: [String], label: String = "cls") throws(LoaderError) {
        guard !label.isEmpty, !label.contains("/") else {
            throw LoaderError(.invalidOptions, "label must be a member extension like cls or txt, got \"\(label)\"")
        }
        var shards: [String] = []
        for spec in specs { shards.append(contentsOf: try ShardSpec.expand(spec)) }
        let index = try ShardIndex.load(shards: shards, label: label)
        self.init(root: specs.count == 1 ? specs[0] : shards[0], classes: index.classes, samples: index.samples)
        notes = index.notes
        damage = index.damage
    }

    /// The shards `spec` names, in order (see ``init(shards:label:)``): a brace pattern expanded,
    /// a folder's `.tar` files, a list file's lines.
    public static func shards(in spec: String) throws(LoaderError) -> [String] { try ShardSpec.expand(spec) }
}
