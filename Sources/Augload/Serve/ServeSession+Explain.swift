/// `augload serve --explain EPOCH,BATCH`: the explain record of one batch for the Python client's
/// `Loader.explain()` — the client's `hello` (JSON) on standard input, the record (JSON, as
/// `export --explain` writes it) on standard output; with `mix`, the batch's MixUp/CutMix record
/// (`Loader.explain_mix()`). Planning only: no worker, no pixel.
extension ServeSession {
    /// The record of batch `batch` of `epoch` for the dataset and options of `hello` (a hello
    /// frame's JSON body).
    /// - Throws: ``LoaderError`` for a bad hello, options or position.
    public static func explain(hello bytes: [UInt8], epoch: Int, batch: Int, mix: Bool = false) throws(LoaderError) -> [UInt8] {
        try ClientChannel.decode(Greeting.self, bytes).check()
        let sequence = try Self.sequence(for: try ClientChannel.decode(HelloMessage.self, bytes))
        var record = ExplainRecord(sequence)
        return mix ? try record.encodedMix(epoch: epoch, index: batch) : try record.encoded(epoch: epoch, index: batch)
    }
}
