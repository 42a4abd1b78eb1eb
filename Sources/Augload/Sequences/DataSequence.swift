/// A source of batches for a training loop: how many batches an epoch has, the batch at an index,
/// and a hook at the end of each epoch — Keras' `Sequence` / `PyDataset`.
///
/// Implement it for your own data. A sequence that is also `Codable` (and declared at file
/// scope) runs in worker processes with no extra code: the loader sends each worker its type's
/// name and encoded state, the worker — the same binary — decodes it and calls ``batch(at:)``.
/// After ``onEpochEnd()`` the new state is sent again before the next epoch starts.
///
///     struct Squares: DataSequence, Codable {
///         var count: Int { 10 }
///         func batch(at index: Int) throws -> Batch {
///             let values = (0..<8).map { Float(index * 8 + $0) }
///             return Batch(floats: values.map { $0 * $0 }, shape: [8, 1], labels: (0..<8).map { Int32($0) })
///         }
///     }
///     let loader = try Loader(Squares(), workers: 2)
///     for try await batch in loader { print(batch.index, batch.floats.first!) }
public protocol DataSequence {
    /// Batches per epoch.
    var count: Int { get }

    /// The batch at `index` (0 ..< `count`).
    /// - Throws: anything; the loader reports it with the batch index.
    func batch(at index: Int) throws -> Batch

    /// Called once after each epoch's last batch has been produced (default: nothing).
    mutating func onEpochEnd()
}

extension DataSequence {
    /// Default: does nothing. See ``DataSequence/onEpochEnd()``.
    public mutating func onEpochEnd() {}
}

/// A file the loader could not use, and why (the `skipped` entries of a report) — or, with
/// `kind == .warning`, one it used although the decoder had to recover from corrupt data.
public struct SkippedFile: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Whether the file was skipped or used despite decoder warnings.
    public enum Kind: String, Sendable, Hashable, Codable {
        case skipped, warning
    }
    /// The file's path.
    public var path: String
    /// Why the file was skipped, or the warnings it was decoded with.
    public var error: String
    /// Whether the file was skipped or decoded with warnings.
    public var kind: Kind

    /// Creates an entry for `path` with the reason `error` (default kind `.skipped`).
    public init(path: String, error: String, kind: Kind = .skipped) {
        self.path = path
        self.error = error
        self.kind = kind
    }

    /// "path: error", as reports print it.
    public var description: String { "\(path): \(error)" }
}
