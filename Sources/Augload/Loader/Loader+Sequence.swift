/// Consuming a loader with `for batch in loader` and `for try await batch in loader`.
///
/// The synchronous form cannot throw from `next()` (that is `IteratorProtocol`'s shape): when the
/// run fails, iteration ends and ``Loader/failure`` holds the error — check it after the loop, or
/// use `while let batch = try loader.next()` or the `AsyncSequence` form, which throw.
extension Loader: Sequence {
    public struct Iterator: IteratorProtocol {
        let loader: Loader
        public mutating func next() -> Batch? {
            do {
                return try loader.next()
            } catch {
                return nil
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(loader: self) }

    /// The error that ended the run, if one did.
    public var failure: LoaderError? { state.mutex.withLock { state.failure } }
}

extension Loader: AsyncSequence {
    public typealias Element = Batch

    public struct AsyncIterator: AsyncIteratorProtocol {
        let loader: Loader
        /// Waits for the next batch. The wait blocks a thread (the loader's hand-off is a condition
        /// variable), so run it on a task you don't mind parking: batches usually arrive in
        /// milliseconds.
        public mutating func next() async throws -> Batch? { try loader.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(loader: self) }
}
