import Augload
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessTests {
    /// MixUp/CutMix through the loader: float32 targets in the slot, the same bytes whatever the
    /// worker count, a killed worker or a resume.
    @Suite struct MixTests {
        static func mixed(_ configure: (inout ImageBatchOptions) -> Void = { _ in }) throws -> ImageBatchSequence {
            try ProcessTests.imageSequence {
                $0.mixup = 0.2
                $0.cutmix = 1.0
                $0.labelSmoothing = 0.1
                $0.erasing = 0.25
                configure(&$0)
            }
        }

        @Test func mixedBatchesCarryTargetsAndAreTheSameForAnyWorkerCountOrAKill() throws {
            let sequence = try Self.mixed()
            let reference = try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 2))
            #expect(reference.allSatisfy { $0.labels.isEmpty && $0.targets.count == $0.shape[0] * 3 })
            for snapshot in reference {
                for row in 0..<snapshot.shape[0] {
                    #expect(abs(snapshot.targets[(row * 3)..<(row * 3 + 3)].reduce(0, +) - 1) < 1e-5)
                }
            }
            let kinds = (0..<sequence.batchCount(epoch: 0)).map { sequence.batchMix(epoch: 0, index: $0).kind }
            #expect(kinds.contains(.mixup) && kinds.contains(.cutmix), "both methods occur in 8 batches")
            #expect(try ProcessTests.collect(Loader(sequence, workers: 2, maxQueueSize: 3, epochs: 2)) == reference)
            let loader = try Loader(sequence, workers: 2, maxQueueSize: 3, epochs: 2)
            #expect(try ProcessTests.collect(loader, killAfter: 2) == reference)
            #expect(loader.statistics.workerRestarts >= 1)
            let resumed = try ProcessTests.collect(Loader(sequence, workers: 2, epochs: 1, start: .init(epoch: 1, batch: 3)))
            #expect(resumed == Array(reference.drop { $0.epoch == 0 || $0.index < 3 }))
        }

        /// The mix is the last step: the same batch unmixed, mixed by hand with the recorded draw, is
        /// the mixed batch.
        @Test func theMixIsTheRecordedDrawAppliedToTheUnmixedBatch() throws {
            let mixed = try Self.mixed { $0.labelSmoothing = 0 }
            let plain = try Self.mixed {
                $0.mixup = 0
                $0.cutmix = 0
                $0.labelSmoothing = 0
            }
            for index in 0..<mixed.batchCount(epoch: 0) {
                let a = try mixed.batch(at: index)
                let b = try plain.batch(at: index)
                defer {
                    a.release()
                    b.release()
                }
                var images = Array(b.floats)
                var scratch: [Float] = []
                let draw = mixed.batchMix(epoch: 0, index: index)
                images.withUnsafeMutableBufferPointer {
                    draw.apply(
                        to: $0.baseAddress!, count: b.count, width: 48, height: 48, channelsFirst: false, scratch: &scratch)
                }
                #expect(images == Array(a.floats))
                var targets = [Float](repeating: 0, count: b.count * 3)
                targets.withUnsafeMutableBufferPointer {
                    draw.targets(labels: Array(b.labels), classes: 3, smoothing: 0, into: $0)
                }
                #expect(targets == Array(a.softLabels!))
            }
        }

        @Test func uint8OrSizeZeroOutputRefusesAMixNamingTheOption() {
            #expect(throws: LoaderError.self) { try Self.mixed { $0.dtype = .uint8 } }
            do {
                _ = try Self.mixed {
                    $0.dtype = .uint8
                    $0.erasing = 0
                }
                Issue.record("expected an error")
            } catch let error as LoaderError {
                #expect(error.message.contains("mixup needs dtype float32"))
            } catch {
                Issue.record("\(error)")
            }
            #expect(throws: LoaderError.self) { try Self.mixed { $0.mixProb = 1.5 } }
            #expect(throws: LoaderError.self) { try Self.mixed { $0.labelSmoothing = 1 } }
        }
    }
}
