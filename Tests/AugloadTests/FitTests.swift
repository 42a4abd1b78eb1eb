import Augload
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Records what `fit` reports to its callbacks.
final class Recorder: FitCallback {
    var batches: [BatchLog] = []
    var epochs: [EpochLog] = []
    func batchEnded(_ log: BatchLog) { batches.append(log) }
    func epochEnded(_ log: EpochLog) { epochs.append(log) }
}

extension ProcessTests {
    /// fit, export and bench over real workers, resume at epoch ends, and option errors.
    @Suite struct FitExportBenchTests {
        init() { _ = ignoreSIGPIPE }

        @Test func fitRunsEveryBatchThroughTheStepAndCallsBack() throws {
            let sequence = try ProcessTests.imageSequence { $0.noise = 0 }
            var step = ChannelStatisticsStep(classes: 3)
            let recorder = Recorder()
            let report = try fit(
                sequence, epochs: 2, workers: 2, maxQueueSize: 4, step: &step, callbacks: [recorder], stepTime: 0.01)
            #expect(report.images == 60 && report.batches == 16 && report.epochs == 2)
            #expect(recorder.batches.count == 16 && recorder.epochs.map(\.epoch) == [0, 1])
            #expect(recorder.epochs.map(\.images) == [30, 30])
            #expect(step.pixelsPerChannel == 60 * 48 * 48, "the step read every pixel")
            #expect(report.stepSeconds >= 16 * 0.01, "simulated step time is spent")
            #expect(report.dataWaitFraction >= 0 && report.dataWaitFraction <= 1)
            #expect(report.waitSeconds + report.stepSeconds <= report.seconds + 0.01)
            #expect(report.finalLoss > 0 && report.finalLoss.isFinite)
            #expect(recorder.batches.last?.resumePosition == .init(epoch: 2, batch: 0))
            // The running channel mean equals the mean of the same batches computed here.
            var total = [Double](repeating: 0, count: 3)
            var count = 0
            for b in try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 2)) {
                let floats = b.images.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                for (i, v) in floats.enumerated() { total[i % 3] += Double(v) }
                count += floats.count / 3
            }
            for c in 0..<3 { #expect(abs(step.channelMean[c] - total[c] / Double(count)) < 1e-4) }
        }

        @Test func fitStopsAtMaxBatchesAndReportsWhereToResume() throws {
            var step = ChannelStatisticsStep(classes: 3)
            let report = try fit(try ProcessTests.imageSequence(), epochs: 3, workers: 2, step: &step, maxBatches: 10)
            #expect(report.batches == 10)
            #expect(report.endEpoch == 1 && report.endBatch == 2)
        }

        @Test func exportWritesEveryBatchOnce() throws {
            let out = TestPaths.temporaryDirectory()
            defer { TestPaths.remove(out) }
            let report = try export(try ProcessTests.imageSequence(), to: out, epochs: 2, workers: 2)
            #expect(report.batches == 16 && report.images == 60)
            let names = TestPaths.list(out)
            #expect(names.filter { $0.hasPrefix("images-0001-") }.count == 8)
            #expect(names.filter { $0.hasPrefix("labels-") }.count == 16)
        }

        @Test func benchmarkFiguresAreCompleteAndSane() throws {
            var o = ImageBatchOptions()
            o.batchSize = 8
            o.size = 32
            let result = try Benchmark.measure(folder: ProcessTests.folder, options: o, workerCounts: [0, 1, 2], epochs: 2)
            #expect(result.images == 30)
            #expect(result.ceiling.images == 30 && result.ceiling.failures == 0)
            #expect(result.ceiling.imagesPerSecond > 0 && result.ceiling.cpuMillisecondsPerImage > 0)
            #expect(result.runs.map(\.workers) == [0, 1, 2])
            for run in result.runs {
                #expect(run.complete, "every batch arrived once, in order (workers \(run.workers))")
                #expect(run.expectedBatches == 8 && run.batches == 8 && run.images == 60, "two epochs of 4 batches")
                #expect(run.imagesPerSecond > 0 && run.cpuMillisecondsPerImage > 0 && run.ratioToCeiling > 0)
                // The steady state (after the first batch): its own rate, CPU and hand-off figures.
                #expect(run.steadyImagesPerSecond > 0 && run.steadyRatioToCeiling > 0)
                #expect(run.steadyCPUMillisecondsPerImage > 0 && run.steadyCPURatioToCeiling > 0)
                #expect(run.steadyConsumerCPUMillisecondsPerBatch > 0 && run.steadyLoaderCPUMillisecondsPerBatch > 0)
                #expect(
                    run.steadyConsumerCoreFraction <= run.steadyLoaderCoreFraction * 1.01 + 1e-3,
                    "the consumer is part of the loader"
                )
                #expect(run.timeToFirstBatchSeconds > 0 && run.timeToFirstBatchSeconds <= run.seconds)
                #expect(run.peakMemoryBytes > 0)
            }
        }

        @Test func recoveredCorruptDataIsReportedAndStrictModeFails() throws {
            let dir = TestPaths.temporaryDirectory()
            defer { TestPaths.remove(dir) }
            TestPaths.makeDirectory(dir + "/a")
            TestPaths.copy(TestPaths.fixtures + "/bad/corrupt-middle.jpg", dir + "/a/corrupt.jpg")
            TestPaths.copy(TestPaths.fixtures + "/codecs/jpeg-420-baseline.jpg", dir + "/a/good.jpg")
            var o = ImageBatchOptions()
            o.batchSize = 2
            o.size = 32
            let loader = try Loader(try ImageBatchSequence(folder: ImageFolder(root: dir), options: o), workers: 2)
            #expect(try ProcessTests.collect(loader).count == 1)
            let stats = loader.statistics
            #expect(stats.skipped.isEmpty)
            #expect(stats.warnings.map(\.path) == [dir + "/a/corrupt.jpg"])
            #expect(stats.warnings.first?.error.contains("Corrupt JPEG data") == true)
            o.decode = DecodeOptions(strict: true)
            do {
                _ = try ProcessTests.collect(
                    Loader(try ImageBatchSequence(folder: ImageFolder(root: dir), options: o), workers: 2))
                Issue.record("strict mode must refuse the corrupt file")
            } catch let error as LoaderError {
                #expect(error.code == .badFile && error.path == dir + "/a/corrupt.jpg")
            }
        }

        /// A worker receives only the paths of its batch, so its memory must not grow with the
        /// dataset: the same batches from a 1,000-file and a 1,000,000-file list (fixture paths
        /// repeated) leave the worker's RSS within 2 MB.
        @Test func workerMemoryIsFlatFrom1kTo1MFiles() throws {
            let real = ProcessTests.folder.samples
            func workerRSS(files: Int) throws -> Int {
                let samples = (0..<files).map { real[$0 % real.count] }
                let folder = ImageFolder(root: ProcessTests.folder.root, classes: ProcessTests.folder.classes, samples: samples)
                var o = ImageBatchOptions()
                o.batchSize = 8
                o.size = 48
                let loader = try Loader(try ImageBatchSequence(folder: folder, options: o), workers: 1, maxQueueSize: 2)
                for _ in 0..<20 { try #require(try loader.next()).release() }
                let pid = try #require(loader.workerProcessIDs.first)
                return ProcessProbe.residentSetSize(pid: pid)
            }
            let small = try workerRSS(files: 1_000)
            let large = try workerRSS(files: 1_000_000)
            #expect(small > 0 && large > 0)
            #expect(abs(large - small) <= 2_000_000, "worker RSS \(small) bytes with 1k files, \(large) with 1M")
            print("worker RSS: \(small / 1024) KiB with 1k files, \(large / 1024) KiB with 1M files")
        }

        @Test func resumingAtTheEndOfAnEpochStartsTheNextOne() throws {
            let sequence = try ProcessTests.imageSequence()
            let full = try ProcessTests.collect(Loader(sequence, workers: 0, epochs: 2))
            for workers in [0, 2] {
                let resumed = try ProcessTests.collect(
                    Loader(sequence, workers: workers, epochs: 2, start: .init(epoch: 0, batch: 8)))
                #expect(resumed == Array(full.suffix(8)), "workers \(workers)")
                let nothing = try ProcessTests.collect(
                    Loader(sequence, workers: workers, epochs: 1, start: .init(epoch: 0, batch: 8)))
                #expect(nothing.isEmpty)
            }
        }

        @Test func anEmptyRunEndsAtOnceInEveryMode() throws {
            for workers in [0, 2] {
                for ordered in [true, false] {
                    let loader = try Loader(CountingSequence(batches: 3), workers: workers, epochs: 0, ordered: ordered)
                    #expect(try loader.next() == nil, "workers \(workers), ordered \(ordered)")
                }
            }
        }

        @Test func optionsThatArriveEncodedAreCheckedBeforeAnyWorkerSeesThem() throws {
            // JSON skips every initialiser's precondition: validate() must be the guard.
            let json = #"{"maxPixels": -1, "strict": false}"#
            var o = ImageBatchOptions()
            o.decode = try TypeCodec.decodeJSON(DecodeOptions.self, Array(json.utf8))
            #expect(throws: LoaderError.self) { try o.validate() }
            do throws(LoaderError) {
                _ = try Loader(ImageBatchSequence(folder: ProcessTests.folder, options: o), workers: 2)
                Issue.record("expected an error")
            } catch {
                #expect(error.code == .invalidOptions && error.message.contains("max_pixels must be in 1..."), "\(error.message)")
            }
        }

        @Test func invalidShardingIsAUsageError() throws {
            var o = ImageBatchOptions()
            o.sharding = try TypeCodec.decodeJSON(Sharding.self, Array(#"{"rank": 0, "worldSize": 0}"#.utf8))
            do {
                _ = try ImageBatchSequence(folder: ProcessTests.folder, options: o)
                Issue.record("expected an error")
            } catch {
                #expect(error.code == .invalidOptions && error.message.contains("world_size must be in 1..."), "\(error.message)")
            }
        }
    }
}
