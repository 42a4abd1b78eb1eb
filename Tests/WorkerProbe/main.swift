import Augload

// A program with top-level side effects, for the test that proves workers never run user code
// at top level: every run of this file's top level appends a line to $PROBE_LOG. The loader
// re-executes this binary for its workers; if the worker hook failed to take over before main,
// each worker would append a line too.
#if canImport(Glibc)
    import Glibc
#endif

/// A user-defined sequence (Codable, so it runs in workers): batch i holds the values
/// i*4 ..< i*4+4 and, as labels, the pid of the process that made it.
struct Counting: DataSequence, Codable {
    var batches: Int
    var count: Int { batches }
    func batch(at index: Int) throws -> Batch {
        Batch(floats: (0..<4).map { Float(index * 4 + $0) }, shape: [4], labels: Array(repeating: Int32(getpid()), count: 4))
    }
}

let log = getenv("PROBE_LOG").map { String(cString: $0) } ?? "/dev/null"
let fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
let line = Array("top-level code ran in pid \(getpid())\n".utf8)
_ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
close(fd)

do {
    let loader = try Loader(Counting(batches: 12), workers: 3, maxQueueSize: 4)
    var values: [Float] = []
    var makers = Set<Int32>()
    while let batch = try loader.next() {
        values += batch.floats
        makers.formUnion(batch.labels)
    }
    let ok = values == (0..<48).map(Float.init) && !makers.contains(getpid())
    print("batches ok: \(ok), made by \(makers.count) worker processes")
    exit(ok ? 0 : 1)
} catch {
    print("error: \(error)")
    exit(1)
}
