import Augload
import CAugSystem

#if canImport(Glibc)
    import Glibc
#endif

/// User-defined sequences for the loader tests. Declared at file scope so workers can find them
/// by name.

/// Batch i holds the values i*4 ..< i*4+4 (plus the generation bumped by each `onEpochEnd`, ×1000)
/// and, as labels, the pid of the process that made it and whether the worker hook ran there.
struct CountingSequence: DataSequence, Codable {
    var batches: Int
    var generation = 0
    /// Milliseconds each batch takes (to keep workers busy while a test kills one).
    var delayMilliseconds = 0
    /// Batch that kills whichever worker process makes it (never in the loader process).
    var poisonedBatch: Int? = nil
    /// Batch whose making throws (a sequence error, in whichever process makes it).
    var failingBatch: Int? = nil
    /// Batch whose making traps (a failed precondition) in a worker process.
    var trappingBatch: Int? = nil
    /// A folder where each batch, as it starts, leaves a file named `PID-INDEX` (the event a test
    /// waits for instead of a duration).
    var markerFolder: String? = nil

    var count: Int { batches }

    func batch(at index: Int) throws -> Batch {
        if let markerFolder {
            let fd = open("\(markerFolder)/\(getpid())-\(index)", O_CREAT | O_WRONLY, 0o644)
            if fd >= 0 { close(fd) }
        }
        if delayMilliseconds > 0 { usleep(UInt32(delayMilliseconds * 1000)) }
        if index == poisonedBatch && aug_is_worker_process() != 0 { kill(getpid(), SIGKILL) }
        if index == trappingBatch && aug_is_worker_process() != 0 { preconditionFailure("batch \(index) traps") }
        if index == 99_999 || index == failingBatch { throw SequenceFailure(index: index) }
        let values = (0..<4).map { Float(generation * 1000 + index * 4 + $0) }
        let backtracer = getenv("SWIFT_BACKTRACE").map { String(cString: $0) }
        return Batch(floats: values, shape: [4], labels: [Int32(getpid()), aug_is_worker_process(), backtracer == "enable=no" ? 1 : 0, 0])
    }

    mutating func onEpochEnd() { generation += 1 }
}

struct SequenceFailure: Error, CustomStringConvertible {
    var index: Int
    var description: String { "the sequence refused batch \(index)" }
}

/// Not Codable: cannot cross to a worker.
struct LocalOnlySequence: DataSequence {
    var count: Int { 2 }
    func batch(at index: Int) throws -> Batch { Batch(bytes: [UInt8(index)], shape: [1], labels: [0]) }
}
