/// `augload serve --explain EPOCH,BATCH`: the explain record of one batch for the Python client's
/// `Loader.explain()` — the client's `hello` (JSON) on standard input, the record (JSON, as
/// `export --explain` writes it) on standard output. Planning only: no worker, no pixel.
extension ServeSession {
    /// The record of batch `batch` of `epoch` for the dataset and options of `hello` (a hello
    /// frame's JSON body).
    /// - Throws: ``LoaderError`` for a bad hello, options or position.
    public static func explain(hello bytes: [UInt8], epoch: Int, batch: Int) throws(LoaderError) -> [UInt8] {
        try ClientChannel.decode(Greeting.self, bytes).check()
        let sequence = try Self.sequence(for: try ClientChannel.decode(HelloMessage.self, bytes))
        var record = ExplainRecord(sequence)
        return try record.encoded(epoch: epoch, index: batch)
    }
}
