/// A batch's place in the run: its epoch and its index in the epoch. Ordered by epoch, then index.
public struct BatchKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The epoch, counted from 0.
    public var epoch: Int
    /// The batch's index within its epoch, counted from 0.
    public var index: Int

    /// Creates the key of batch `index` of `epoch`.
    public init(epoch: Int, index: Int) {
        self.epoch = epoch
        self.index = index
    }

    /// Orders keys by epoch, then by index within the epoch.
    public static func < (a: BatchKey, b: BatchKey) -> Bool { (a.epoch, a.index) < (b.epoch, b.index) }

    /// A readable form such as "batch 3 of epoch 0".
    public var description: String { "batch \(index) of epoch \(epoch)" }
}

/// Who holds each batch slot: the state machine behind the bounded queue.
///
/// A slot is `free`, `working` on a batch (a worker is writing it), `ready` (finished, waiting in
/// the reorder buffer) or `lent` (the consumer holds the batch). Dispatch takes a free slot, so
/// at most `count` batches are in flight, waiting or held at once: the queue is bounded by
/// construction. With `-D AUGLOAD_INVARIANTS` every mutation checks the books balance.
struct SlotPool {
    enum State: Equatable {
        case free
        case working(BatchKey)
        case ready(BatchKey)
        case lent(BatchKey)
    }

    private(set) var states: [State]
    private var freeList: [Int]

    init(count: Int) {
        precondition(count > 0, "a slot pool needs at least one slot")
        states = Array(repeating: .free, count: count)
        freeList = Array((0..<count).reversed())
    }

    var freeCount: Int { freeList.count }
    var lentCount: Int { states.filter { if case .lent = $0 { return true } else { return false } }.count }

    /// Takes a free slot for `key`, or returns nil when every slot is busy.
    mutating func acquire(for key: BatchKey) -> Int? {
        guard let slot = freeList.popLast() else { return nil }
        states[slot] = .working(key)
        _checkInvariants()
        return slot
    }

    mutating func markReady(_ slot: Int) {
        guard case .working(let key) = states[slot] else { preconditionFailure("slot \(slot) finished while \(states[slot])") }
        states[slot] = .ready(key)
        _checkInvariants()
    }

    mutating func lend(_ slot: Int) {
        guard case .ready(let key) = states[slot] else { preconditionFailure("slot \(slot) lent while \(states[slot])") }
        states[slot] = .lent(key)
        _checkInvariants()
    }

    /// Returns a slot (after the consumer released its batch, or a failed batch).
    mutating func release(_ slot: Int) {
        precondition(states[slot] != .free, "slot \(slot) released twice")
        states[slot] = .free
        freeList.append(slot)
        _checkInvariants()
    }

    func _checkInvariants() {
        #if AUGLOAD_INVARIANTS
            precondition(Set(freeList).count == freeList.count, "a slot is on the free list twice")
            for (i, s) in states.enumerated() {
                precondition((s == .free) == freeList.contains(i), "slot \(i) is \(s) but free-list membership disagrees")
            }
            var keys = Set<BatchKey>()
            for s in states {
                switch s {
                case .free: break
                case .working(let k), .ready(let k), .lent(let k):
                    precondition(keys.insert(k).inserted, "\(k) occupies two slots")
                }
            }
        #endif
    }
}
