import Augload

#if canImport(Glibc)
    import Glibc
#endif

/// A one-line progress display on stderr (only used when stderr is a terminal): epoch, batches
/// done/total, img/s, queue fill, ETA — redrawn at most ten times a second.
final class Progress: FitCallback {
    let verb: String
    let epochs: Int
    private let start = Progress.now()
    private var lastDraw = 0.0
    private var images = 0
    private var drawn = false

    init(verb: String, epochs: Int) {
        self.verb = verb
        self.epochs = epochs
    }

    func batchEnded(_ log: BatchLog) {
        cache = log.cache
        advance(epoch: log.epoch, done: log.index + 1, total: log.batchesInEpoch, images: log.images, queued: log.queued)
    }

    /// The decoded cache's counters, shown when there is a cache.
    private var cache: CacheStatistics?

    /// Counts `images` more and redraws if due.
    func advance(epoch: Int, done: Int, total: Int, images more: Int, queued: Int) {
        images += more
        let now = Progress.now()
        guard now - lastDraw >= 0.1 || done == total else { return }
        lastDraw = now
        let elapsed = now - start
        let rate = elapsed > 0 ? Double(images) / elapsed : 0
        let perBatch = done > 0 ? elapsed / Double(done + max(0, epoch) * total) : 0
        let remaining = Double(total - done + max(0, epochs - epoch - 1) * total) * perBatch
        let width = 24
        let filled = total > 0 ? width * done / total : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        var cacheText = ""
        if let c = cache {
            let uses = c.hits + c.misses + c.bypassed
            cacheText = "  cache \(uses > 0 ? 100 * c.hits / uses : 0)% hits \(c.bytes >> 20) MB"
        }
        let line =
            "\(verb) epoch \(epoch + 1)/\(epochs) \(bar) \(done)/\(total) batches  \(Int(rate)) img/s  queue \(queued)\(cacheText)  ETA \(Progress.clock(remaining))"
        writeStderr("\r\u{1B}[2K" + line)
        drawn = true
    }

    func finish() {
        if drawn { writeStderr("\r\u{1B}[2K") }
    }

    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))
        let pad = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        return "\(s / 60):\(pad(s % 60))"
    }

    static func now() -> Double { monotonicSeconds() }
}
