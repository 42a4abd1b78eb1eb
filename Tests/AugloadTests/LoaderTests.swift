import Augload
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Everything that spawns worker processes runs one test at a time, with time limits: the suites
/// of the loader and of fit, export and bench are nested here so that `.serialized` covers them all.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ProcessTests {

    static let folder = try! ImageFolder(root: TestPaths.fixtures + "/images")

    static func imageSequence(_ configure: (inout ImageBatchOptions) -> Void = { _ in }) throws -> ImageBatchSequence {
        var o = ImageBatchOptions()
        o.batchSize = 4
        o.size = 48
        o.crop = .resized
        o.flip = .hv
        o.noise = 0.05
        o.seed = 21
        configure(&o)
        return try ImageBatchSequence(folder: folder, options: o)
    }

    /// Every batch of a run as (epoch, index, image bytes, labels).
    struct Snapshot: Equatable {
        var epoch: Int
        var index: Int
        var images: [UInt8]
        var labels: [Int32]
        var shape: [Int]
        /// Float32 targets (`count × labelColumns`) of a mixed or smoothed batch; empty otherwise.
        var targets: [Float] = []
    }

    static func collect(_ loader: Loader, killAfter: Int? = nil) throws -> [Snapshot] {
        var out: [Snapshot] = []
        while let b = try loader.next() {
            out.append(
                Snapshot(
                    epoch: b.epoch, index: b.index, images: Array(b.images), labels: Array(b.labels), shape: b.shape,
                    targets: b.softLabels.map(Array.init) ?? []))
            if out.count == killAfter, let victim = loader.workerProcessIDs.first { kill(victim, SIGKILL) }
        }
        return out
    }
}

extension ProcessTests {
    /// The loader with real worker processes: bytes, crashes, resume, ordering, bad files, closing.
    @Suite struct LoaderTests {
        init() { _ = ignoreSIGPIPE }

        @Test func sameSeedGivesIdenticalBytesForWorkers0127() throws {
            let sequence = try ProcessTests.imageSequence()
            let reference = try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 2))
            #expect(reference.count == 16)
            #expect(reference.map(\.index) == Array(0..<8) + Array(0..<8))
            for workers in [1, 2, 7] {
                let run = try ProcessTests.collect(Loader(sequence, workers: workers, maxQueueSize: 5, epochs: 2))
                #expect(run == reference, "workers \(workers)")
            }
        }

        @Test func aKilledWorkerIsReplacedAndNothingChanges() throws {
            let sequence = try ProcessTests.imageSequence()
            let reference = try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 2))
            let loader = try Loader(sequence, workers: 2, maxQueueSize: 3, epochs: 2)
            let run = try ProcessTests.collect(loader, killAfter: 3)
            #expect(run == reference)
            #expect(loader.statistics.workerRestarts >= 1)
        }

        @Test func aBatchWhoseWorkerDiesIsDoneAgain() throws {
            // The kill lands in the middle of a task: the victim is a worker seen starting a batch
            // (its marker file appears), in which it then sleeps 300 ms.
            let markers = TestPaths.temporaryDirectory("augload-markers")
            defer { TestPaths.remove(markers) }
            let sequence = CountingSequence(batches: 10, delayMilliseconds: 300, markerFolder: markers)
            let loader = try Loader(sequence, workers: 2, maxQueueSize: 4)
            var values: [Float] = []
            var killed = false
            while let b = try loader.next() {
                values += b.floats
                if !killed {
                    // A marker that appears from now on is a batch its worker started moments ago.
                    let workers = Set(loader.workerProcessIDs)
                    let seen = Set(TestPaths.list(markers))
                    var victim: Int32?
                    for _ in 0..<400 where victim == nil {
                        victim = TestPaths.list(markers).filter { !seen.contains($0) }.compactMap { name -> Int32? in
                            guard let pid = name.split(separator: "-").first.flatMap({ Int32($0) }) else { return nil }
                            return workers.contains(pid) ? pid : nil
                        }.first
                        if victim == nil { usleep(5_000) }
                    }
                    let pid = try #require(victim, "no worker started a later batch within 2 s")
                    kill(pid, SIGKILL)
                    killed = true
                }
            }
            #expect(values == (0..<40).map(Float.init))
            let stats = loader.statistics
            #expect(stats.workerRestarts == 1)
            #expect(stats.retriedBatches == 1, "the victim was busy: its batch was made again")
        }

        @Test func aBatchThatKeepsKillingWorkersFailsNamingIt() throws {
            let loader = try Loader(CountingSequence(batches: 6, poisonedBatch: 3), workers: 2, maxQueueSize: 3, maxAttempts: 3)
            var seen: [Int] = []
            do {
                while let b = try loader.next() { seen.append(b.index) }
                Issue.record("expected the poisoned batch to fail the run")
            } catch {
                #expect(error.code == .workerCrashed)
                #expect(error.message.contains("batch 3 of epoch 0"), "\(error.message)")
                #expect(error.message.contains("signal 9"), "\(error.message)")
            }
            #expect(!seen.contains(3))
            #expect(loader.statistics.workerRestarts >= 3)
        }

        @Test func aWorkerThatTrapsDiesAtOnceAndTheBatchFailsNamingTheSignal() throws {
            // A trapping worker must die, not linger in Swift's backtracer holding its batch
            // (that lingering once held CI for its whole time limit).
            let loader = try Loader(CountingSequence(batches: 6, trappingBatch: 2), workers: 2, maxQueueSize: 3, maxAttempts: 2)
            var seen: [Int] = []
            var backtracerOff: [Int32] = []
            do {
                while let b = try loader.next() {
                    seen.append(b.index)
                    backtracerOff.append(b.labels[2])
                }
                Issue.record("expected the trapping batch to fail the run")
            } catch {
                #expect(error.code == .workerCrashed)
                #expect(error.message.contains("batch 2 of epoch 0") && error.message.contains("signal 4"), "\(error.message)")
            }
            #expect(seen == [0, 1], "batches before the failing one arrive in order")
            if getenv("SWIFT_BACKTRACE") == nil {
                #expect(backtracerOff == [1, 1], "workers run with SWIFT_BACKTRACE=enable=no unless the user set it")
            }
        }

        @Test func aCodableUserSequenceRunsInWorkerProcesses() throws {
            let loader = try Loader(CountingSequence(batches: 8), workers: 2)
            var makers = Set<Int32>()
            var values: [Float] = []
            while let b = try loader.next() {
                #expect(b.labels[1] == 1, "the worker hook ran in the process that made the batch")
                makers.insert(b.labels[0])
                values += b.floats
            }
            #expect(values == (0..<32).map(Float.init))
            #expect(!makers.contains(getpid()))
            #expect(makers.count >= 1 && makers.count <= 2)
        }

        @Test func stateFromOnEpochEndReachesTheWorkers() throws {
            let loader = try Loader(CountingSequence(batches: 3), workers: 2, epochs: 3)
            var byEpoch: [Int: [Float]] = [:]
            while let b = try loader.next() { byEpoch[b.epoch, default: []] += b.floats }
            #expect(byEpoch[0] == (0..<12).map(Float.init))
            #expect(byEpoch[1] == (0..<12).map { Float(1000 + $0) })
            #expect(byEpoch[2] == (0..<12).map { Float(2000 + $0) })
        }

        @Test func aSequenceThatCannotCrossSuggestsWorkers0() throws {
            do {
                _ = try Loader(LocalOnlySequence(), workers: 2)
                Issue.record("expected an error")
            } catch {
                #expect(error.code == .sequence && error.message.contains("workers: 0"))
            }
            let inProcess = try Loader(LocalOnlySequence(), workers: 0)
            #expect(try ProcessTests.collect(inProcess).map(\.images) == [[0], [1]])
        }

        @Test func aSequenceErrorNamesTheBatch() throws {
            let loader = try Loader(CountingSequence(batches: 100_001), workers: 1, start: .init(epoch: 0, batch: 99_998))
            _ = try loader.next()
            do {
                _ = try loader.next()
                Issue.record("expected an error")
            } catch {
                #expect(error.message.contains("99999") && error.message.contains("refused"), "\(error.message)")
            }
        }

        @Test func resumingYieldsExactlyTheRemainingBatches() throws {
            let sequence = try ProcessTests.imageSequence()
            let full = try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 3))
            for workers in [0, 2] {
                let resumed = try ProcessTests.collect(
                    Loader(sequence, workers: workers, epochs: 2, start: .init(epoch: 1, batch: 5)))
                let expected = Array(full.drop { !($0.epoch == 1 && $0.index == 5) })
                #expect(resumed == expected, "workers \(workers)")
            }
        }

        @Test func positionAfterEachBatchIsTheResumePoint() throws {
            let loader = try Loader(try ProcessTests.imageSequence(), workers: 2, epochs: 2)
            var positions: [Loader.Position] = []
            while let b = try loader.next() {
                positions.append(loader.position)
                _ = b
            }
            #expect(positions.first == .init(epoch: 0, batch: 1))
            #expect(positions[7] == .init(epoch: 1, batch: 0))
            #expect(positions.last == .init(epoch: 2, batch: 0))
        }

        @Test func unorderedModeDeliversEveryBatchOnce() throws {
            let sequence = try ProcessTests.imageSequence()
            let reference = try ProcessTests.collect(Loader(sequence, workers: 0))
            let run = try ProcessTests.collect(Loader(sequence, workers: 3, ordered: false))
            #expect(run.count == reference.count)
            #expect(run.sorted { $0.index < $1.index } == reference)
        }

        @Test func asyncSequenceConsumption() async throws {
            let loader = try Loader(CountingSequence(batches: 5), workers: 2)
            var indices: [Int] = []
            for try await batch in loader { indices.append(batch.index) }
            #expect(indices == [0, 1, 2, 3, 4])
        }

        @Test func syncSequenceConsumptionAndFailure() throws {
            let loader = try Loader(CountingSequence(batches: 5), workers: 1)
            #expect(loader.map(\.index) == [0, 1, 2, 3, 4])
            #expect(loader.failure == nil)
            for workers in [0, 1] {
                let failing = try Loader(CountingSequence(batches: 5, failingBatch: 2), workers: workers)
                #expect(failing.map(\.index) == [0, 1], "iteration ends at the failure (workers \(workers))")
                let failure = try #require(failing.failure, "workers \(workers)")
                #expect(failure.message.contains("refused batch 2"), "\(failure.message)")
            }
        }

        @Test("next() after close() ends at once, never waits", .timeLimit(.minutes(1)), arguments: [0, 2])
        func nextAfterCloseEndsAtOnce(workers: Int) throws {
            let loader = try Loader(CountingSequence(batches: 20, delayMilliseconds: 5), workers: workers, epochs: 5)
            let first = try #require(try loader.next())
            first.release()
            loader.close()
            let begin = monotonicSeconds()
            var after = 0
            do {
                while let b = try loader.next() {
                    after += 1
                    b.release()
                }
                Issue.record("a closed loader must not reach the end of its 5 epochs")
            } catch {
                #expect(error.code == .usage && error.message.contains("closed"), "\(error.message)")
            }
            #expect(after < 20, "only batches finished before close are handed out")
            #expect(monotonicSeconds() - begin < 2)
        }

        @Test(.timeLimit(.minutes(1))) func batchesHeldPastTheLoaderStayReadableAndReleaseSafely() throws {
            var held: [Batch] = []
            do {
                let loader = try Loader(CountingSequence(batches: 6), workers: 2, maxQueueSize: 4)
                for _ in 0..<3 { held.append(try #require(try loader.next())) }
            }  // the loader is dropped here: it closes, its workers end
            #expect(held.map { $0.floats[0] } == [0, 4, 8])
            held.removeAll()  // releasing into a closed loader is harmless
        }

        @Test func holdingEverySlotIsAnErrorNotAHang() throws {
            let loader = try Loader(CountingSequence(batches: 10), workers: 2, maxQueueSize: 3)
            var held: [Batch] = []
            do {
                for _ in 0..<4 { held.append(try #require(try loader.next())) }
                Issue.record("the fourth batch cannot fit: every slot is held")
            } catch let error as LoaderError {
                #expect(error.code == .usage && error.message.contains("held by the consumer"))
            }
            #expect(held.count == 3)
        }

        @Test func slotsAreRecycledWhenBatchesAreReleased() throws {
            let loader = try Loader(CountingSequence(batches: 50), workers: 2, maxQueueSize: 2)
            var count = 0
            while let b = try loader.next() {
                count += 1
                b.release()
            }
            #expect(count == 50)
        }

        @Test func badFileUnderFailStopsNamingTheFile() throws {
            var o = ImageBatchOptions()
            o.batchSize = 2
            o.size = 32
            o.shuffle = false
            let sequence = try ImageBatchSequence(folder: ImageFolder(root: TestPaths.fixtures + "/bad-folder"), options: o)
            for workers in [0, 2] {
                do {
                    _ = try ProcessTests.collect(Loader(sequence, workers: workers))
                    Issue.record("expected a failure")
                } catch let error as LoaderError {
                    #expect(error.code == .badFile)
                    #expect(error.path?.hasSuffix("dog-2-truncated.jpg") == true)
                    #expect(error.decodeCode == .truncated, "the decoder's code survives the trip from the worker")
                    #expect(
                        error.message.contains("dog-2-truncated.jpg") && error.message.contains("truncated"), "\(error.message)")
                }
            }
        }

        @Test func badFileUnderSkipIsReplacedAndReported() throws {
            var o = ImageBatchOptions()
            o.batchSize = 2
            o.size = 32
            o.onError = .skip
            o.seed = 4
            let sequence = try ImageBatchSequence(folder: ImageFolder(root: TestPaths.fixtures + "/bad-folder"), options: o)
            let inProcess = try Loader(sequence, workers: 0, epochs: 2)
            let reference = try ProcessTests.collect(inProcess)
            let loader = try Loader(sequence, workers: 2, epochs: 2)
            let run = try ProcessTests.collect(loader)
            #expect(run == reference, "the replacement is deterministic")
            #expect(run.count == 6 && run.allSatisfy { $0.shape[0] == 2 || $0.index == 2 })
            #expect(run.map { $0.labels.count }.reduce(0, +) == 12, "no sample lost")
            let skipped = loader.statistics.skipped
            #expect(skipped.map(\.path).contains { $0.hasSuffix("dog-2-truncated.jpg") })
            #expect(skipped.count == 1, "listed once however often it is hit")
            #expect(inProcess.statistics.skipped == skipped)
        }

        @Test func closingEndsEveryWorker() throws {
            let loader = try Loader(CountingSequence(batches: 20), workers: 3, maxQueueSize: 4)
            for _ in 0..<6 { try #require(try loader.next()).release() }
            let pids = loader.workerProcessIDs
            // No more processes than cores run: 3 workers on a 2-core machine are 2 processes.
            #expect(pids.count == min(3, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
            #expect(pids.allSatisfy(processIsAlive))
            loader.close()
            #expect(!pids.contains(where: processIsAlive), "workers are reaped by close()")
        }

        @Test func memoryFiguresAreReported() throws {
            let loader = try Loader(try ProcessTests.imageSequence(), workers: 2)
            _ = try ProcessTests.collect(loader)
            let stats = loader.statistics
            #expect(stats.peakMemoryBytes > 1_000_000)
            #expect(stats.timeToFirstBatch.map { $0 > 0 && $0 < 30 } == true)
            #expect(stats.batchesDelivered == 8 && stats.imagesDelivered == 30)
        }

        @Test func topLevelCodeNeverRunsInWorkers() throws {
            let log = TestPaths.temporaryDirectory() + "/probe.log"
            let result = try run(TestPaths.binaries + "/augload-probe", [], environment: ["PROBE_LOG": log])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("batches ok: true"))
            let lines = String(decoding: TestPaths.read(log) ?? [], as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 1, "top-level code ran \(lines.count) times: \(lines)")
        }
    }
}
