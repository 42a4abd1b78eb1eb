/// Consuming a loader with `for batch in loader` and `for try await batch in loader`.
///
/// The synchronous form cannot throw from `next()` (that is `IteratorProtocol`'s shape): when the
/// run fails, iteration ends and ``Loader/failure`` holds the error — check it after the loop, or
/// use `while let batch = try loader.next()` or the `AsyncSequence` form, which throw.
extension Loader: Sequence {
    /// Iterates a loader's batches synchronously; iteration ends after the last batch or on failure (see ``Loader/failure``).
    public struct Iterator: IteratorProtocol {
        let loader: Loader
        /// Returns the next batch, or nil when the run is over or has failed.
        public mutating func next() -> Batch? {
            do {
                return try loader.next()
            } catch {
                return nil
            }
        }
    }

    /// Returns an iterator over the loader's remaining batches.
    public func makeIterator() -> Iterator { Iterator(loader: self) }

    /// The error that ended the run, if one did.
    public var failure: LoaderError? { state.mutex.withLock { state.failure } }
}

extension Loader: AsyncSequence {
    /// The loader yields ``Batch`` values.
    public typealias Element = Batch

    /// Iterates a loader's batches with `for try await`, throwing when the run fails.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let loader: Loader
        /// Waits for the next batch. The wait blocks a thread (the loader's hand-off is a condition
        /// variable), so run it on a task you don't mind parking: batches usually arrive in
        /// milliseconds.
        public mutating func next() async throws -> Batch? { try loader.next() }
    }

    /// Returns an async iterator over the loader's remaining batches.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(loader: self) }
}
