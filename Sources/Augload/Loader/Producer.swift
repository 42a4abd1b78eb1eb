/// Makes batches into slots: the dispatcher with its worker processes, or the consumer's own
/// thread (``InProcessProducer``). Both walk the run with one ``EpochSchedule``.
protocol Producer: AnyObject, Sendable {
    /// Called before each take: the in-process producer makes the next batch here.
    func prepareNext() throws(LoaderError)
    /// A slot was released: the producer may start another batch.
    func wake()
    /// Samples the memory of the loader's processes now.
    func sampleMemory()
    /// Stops producing (and ends any workers); idempotent.
    func shutdown()
    /// The live worker processes.
    var workerProcessIDs: [Int32] { get }
}
