@testable import Augload
import Testing

/// The loader's bookkeeping, one piece at a time: the slot pool, the reorder buffer and the
/// epoch walk (the process tests prove them together).
@Suite struct SlotPoolTests {
    @Test func aSlotGoesFreeWorkingReadyLentFree() {
        var pool = SlotPool(count: 2)
        let key = BatchKey(epoch: 0, index: 0)
        let slot = pool.acquire(for: key)!
        #expect(pool.states[slot] == .working(key))
        pool.markReady(slot)
        pool.lend(slot)
        #expect(pool.lentCount == 1 && pool.freeCount == 1)
        pool.release(slot)
        #expect(pool.freeCount == 2 && pool.lentCount == 0)
    }

    @Test func noSlotIsHandedOutTwiceAndAFullPoolSaysSo() {
        var pool = SlotPool(count: 3)
        let slots = (0..<3).compactMap { pool.acquire(for: BatchKey(epoch: 0, index: $0)) }
        #expect(Set(slots).count == 3)
        #expect(pool.acquire(for: BatchKey(epoch: 0, index: 3)) == nil)
        pool.release(slots[1])
        #expect(pool.acquire(for: BatchKey(epoch: 0, index: 3)) == slots[1], "the slot just freed is reused first")
    }
}

@Suite struct ReorderBufferTests {
    @Test func batchesFinishedOutOfOrderAreTakenInOrder() {
        var buffer = ReorderBuffer(start: BatchKey(epoch: 0, index: 0), endEpoch: 2, firstCount: 3, ordered: true)
        for _ in 0..<3 { buffer.dispatched() }
        buffer.add(BatchKey(epoch: 0, index: 2), slot: 7)
        buffer.add(BatchKey(epoch: 0, index: 1), slot: 8)
        #expect(buffer.take() == .wait, "batch 0 is not finished yet")
        buffer.add(BatchKey(epoch: 0, index: 0), slot: 9)
        #expect(buffer.take() == .batch(BatchKey(epoch: 0, index: 0), slot: 9))
        #expect(buffer.take() == .batch(BatchKey(epoch: 0, index: 1), slot: 8))
        #expect(buffer.take() == .batch(BatchKey(epoch: 0, index: 2), slot: 7))
        #expect(buffer.outstanding == 0)
        #expect(buffer.take() == .wait, "epoch 1's count is not known yet")
        buffer.setCount(0, epoch: 1)
        #expect(buffer.take() == .end, "an empty last epoch ends the run")
    }

    @Test func unorderedHandsOutWhatIsReadyAndEndsWhenAllIsTaken() {
        var buffer = ReorderBuffer(start: BatchKey(epoch: 0, index: 0), endEpoch: 1, firstCount: 2, ordered: false)
        buffer.dispatched()
        buffer.dispatched()
        buffer.add(BatchKey(epoch: 0, index: 1), slot: 0)
        #expect(buffer.take() == .batch(BatchKey(epoch: 0, index: 1), slot: 0))
        buffer.finishProducing()
        #expect(buffer.take() == .wait, "batch 0 is still outstanding")
        buffer.add(BatchKey(epoch: 0, index: 0), slot: 1)
        #expect(buffer.take() == .batch(BatchKey(epoch: 0, index: 0), slot: 1))
        #expect(buffer.take() == .end)
    }

    @Test func anAbandonedBatchIsNoLongerOutstanding() {
        var buffer = ReorderBuffer(start: BatchKey(epoch: 0, index: 0), endEpoch: 1, firstCount: 1, ordered: false)
        buffer.dispatched()
        buffer.abandoned()
        buffer.finishProducing()
        #expect(buffer.take() == .end)
    }
}

@Suite struct EpochScheduleTests {
    /// Walks a schedule to the end, starting each batch at once and finishing it at once.
    static func walk(_ schedule: inout EpochSchedule, counts: [Int], hooks: inout [Int]) -> [BatchKey] {
        var keys: [BatchKey] = []
        var entered: [Int] = []
        while case .batch(let key) = schedule.step(
            batchCount: { counts[$0] }, onEnter: { e, _ in entered.append(e) },
            epochDidEnd: { hooks.append($0); return true })
        {
            schedule.started(key)
            keys.append(key)
            schedule.finished(key, epochDidEnd: { hooks.append($0); return true })
        }
        return keys
    }

    @Test func walksEveryBatchOfEveryEpochOnceAndEndsEachEpochOnce() {
        var schedule = EpochSchedule(start: BatchKey(epoch: 0, index: 0), endEpoch: 3, firstCount: 2, isEpochPure: false)
        var hooks: [Int] = []
        let keys = Self.walk(&schedule, counts: [2, 0, 3], hooks: &hooks)
        #expect(keys.map { [$0.epoch, $0.index] } == [[0, 0], [0, 1], [2, 0], [2, 1], [2, 2]])
        #expect(hooks == [0, 1, 2], "the empty epoch 1 ends too, each once")
    }

    @Test func aResumedEpochEndsAfterItsRemainingBatches() {
        var schedule = EpochSchedule(start: BatchKey(epoch: 1, index: 2), endEpoch: 2, firstCount: 3, isEpochPure: false)
        var hooks: [Int] = []
        let keys = Self.walk(&schedule, counts: [3, 3], hooks: &hooks)
        #expect(keys == [BatchKey(epoch: 1, index: 2)])
        #expect(hooks == [1])
    }

    @Test func anImpureSourceWaitsForItsEpochToFinish() {
        var schedule = EpochSchedule(start: BatchKey(epoch: 0, index: 0), endEpoch: 2, firstCount: 1, isEpochPure: false)
        let noHook: (Int) -> Bool = { _ in true }
        let first = schedule.step(batchCount: { _ in 1 }, onEnter: { _, _ in }, epochDidEnd: noHook)
        #expect(first == .batch(BatchKey(epoch: 0, index: 0)))
        schedule.started(BatchKey(epoch: 0, index: 0))
        #expect(schedule.step(batchCount: { _ in 1 }, onEnter: { _, _ in }, epochDidEnd: noHook) == .waitForEpochEnd)
        schedule.finished(BatchKey(epoch: 0, index: 0), epochDidEnd: noHook)
        #expect(schedule.step(batchCount: { _ in 1 }, onEnter: { _, _ in }, epochDidEnd: noHook) == .batch(BatchKey(epoch: 1, index: 0)))
    }

    @Test func aPureSourceRunsAheadIntoTheNextEpoch() {
        var schedule = EpochSchedule(start: BatchKey(epoch: 0, index: 0), endEpoch: 2, firstCount: 1, isEpochPure: true)
        let noHook: (Int) -> Bool = { _ in true }
        _ = schedule.step(batchCount: { _ in 1 }, onEnter: { _, _ in }, epochDidEnd: noHook)
        schedule.started(BatchKey(epoch: 0, index: 0))
        #expect(schedule.step(batchCount: { _ in 1 }, onEnter: { _, _ in }, epochDidEnd: noHook) == .batch(BatchKey(epoch: 1, index: 0)))
    }
}

@Suite struct ShareTests {
    @Test("every rank gets the same number of samples, padded or dropped", arguments: [2, 3, 4, 7])
    func equalSharesForWorldSizesThatDoNotDivide(worldSize: Int) {
        let order = Array((0..<30).reversed())
        for remainder in [Sharding.Remainder.pad, .drop] {
            let shares = (0..<worldSize).map { Sharding(rank: $0, worldSize: worldSize, remainder: remainder).share(of: order) }
            let expected = remainder == .pad ? (30 + worldSize - 1) / worldSize : 30 / worldSize
            #expect(shares.allSatisfy { $0.count == expected }, "\(remainder), world \(worldSize)")
            let all = shares.flatMap { $0 }
            if remainder == .pad {
                #expect(Set(all) == Set(order), "padding repeats samples, never loses one")
                #expect(all.count - 30 == expected * worldSize - 30)
            } else {
                #expect(Set(all).count == all.count, "dropping never repeats a sample")
            }
        }
    }
}
