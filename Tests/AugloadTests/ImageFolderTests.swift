import Augload
import TestSupport
import Testing

@Suite struct ImageFolderTests {
    @Test func classesAreSortedSubfoldersAndImagesAreFoundCaseInsensitively() throws {
        let folder = try ImageFolder(root: TestPaths.fixtures + "/images")
        #expect(folder.classes == ["bird", "cat", "dog"])
        #expect(folder.samples.count == 30)
        #expect(folder.samples.contains { $0.path.hasSuffix(".JPEG") } && folder.samples.contains { $0.path.hasSuffix(".PNG") })
        #expect(!folder.samples.contains { $0.path.contains("/.hidden") }, "hidden files are skipped")
        #expect(!folder.samples.contains { $0.path.hasSuffix(".txt") })
        let labels = folder.samples.map(\.label)
        #expect(labels == labels.sorted(), "samples are grouped by class in order")
        let paths = folder.samples.filter { $0.label == 1 }.map(\.path)
        #expect(paths == paths.sorted())
    }

    /// A list as pandas' `to_csv` writes it: an index column, and paths with a comma or a quote
    /// quoted (quotes doubled); each path reaches `open` as it is, and the images decode.
    @Test func aListAsPandasWritesItIsReadAsRFC4180() throws {
        let dir = TestPaths.temporaryDirectory("augload-csv")
        defer { TestPaths.remove(dir) }
        let names = ["a,b.jpg", "say \"hi\".jpg", "plain.jpg"]
        for name in names { TestPaths.copy(TestPaths.fixtures + "/images/cat/cat-01.jpg", dir + "/" + name) }
        let csv = ",path,label\r\n0,\"a,b.jpg\",cat\r\n1,\"say \"\"hi\"\".jpg\",dog\r\n2,plain.jpg,cat\r\n"
        TestPaths.write(dir + "/list.csv", Array(csv.utf8))
        let folder = try ImageFolder(listFile: dir + "/list.csv")
        #expect(folder.samples.map(\.path) == names.map { dir + "/" + $0 })
        #expect(folder.classes == ["cat", "dog"] && folder.samples.map(\.label) == [0, 1, 0])
        var options = ImageBatchOptions()
        options.batchSize = 3
        options.size = 16
        let sequence = try ImageBatchSequence(folder: folder, options: options)
        let batch = try sequence.batch(at: 0)
        #expect(batch.count == 3)
        // The old form still reads: no header, an unquoted comma in the path, the label last.
        TestPaths.write(dir + "/old.csv", Array("a,b.jpg,1\n# a comment\n\nplain.jpg,0\n".utf8))
        #expect(try ImageFolder(listFile: dir + "/old.csv").samples.map(\.path) == [dir + "/a,b.jpg", dir + "/plain.jpg"])
        TestPaths.write(dir + "/bad.csv", Array("\"unclosed.jpg,1\n".utf8))
        #expect(throws: LoaderError.self) { try ImageFolder(listFile: dir + "/bad.csv") }
    }

    @Test func scanningTwiceGivesTheSameOrder() throws {
        let a = try ImageFolder(root: TestPaths.fixtures + "/images")
        let b = try ImageFolder(root: TestPaths.fixtures + "/images")
        #expect(a.samples == b.samples)
    }

    @Test func missingRootNamesThePathAndReason() {
        do {
            _ = try ImageFolder(root: "/nonexistent/augload")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .dataset)
            #expect(error.message.contains("/nonexistent/augload") && error.message.contains("No such file"))
        }
    }

    @Test func emptyRootSaysHowTheLayoutShouldLook() {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        TestPaths.copy(TestPaths.fixtures + "/codecs/png-rgb-8.png", dir + "/loose.png")
        do {
            _ = try ImageFolder(root: dir)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("no images found"))
            #expect(error.message.contains("<class>"))
            #expect(error.message.contains("move them into class sub-folders"))
        }
    }
}

@Suite struct ShardingTests {
    @Test func launcherVariablesAreRead() {
        #expect(Sharding.fromEnvironment(["RANK": "2", "WORLD_SIZE": "4"]) == Sharding(rank: 2, worldSize: 4))
        #expect(Sharding.fromEnvironment(["SLURM_PROCID": "1", "SLURM_NTASKS": "3"]) == Sharding(rank: 1, worldSize: 3))
        #expect(Sharding.fromEnvironment([:]) == Sharding())
        #expect(Sharding.fromEnvironment(["RANK": "5", "WORLD_SIZE": "4"]) == Sharding(), "an invalid rank is ignored")
    }

    @Test("ranks cover every sample exactly once", arguments: [1, 2, 3, 7])
    func shardsCoverEverySampleOnce(worldSize: Int) throws {
        let folder = try ImageFolder(root: TestPaths.fixtures + "/images")
        for epoch in 0..<3 {
            var all: [Int] = []
            for rank in 0..<worldSize {
                var options = ImageBatchOptions()
                options.sharding = Sharding(rank: rank, worldSize: worldSize, remainder: .uneven)
                options.seed = 17
                let sequence = try ImageBatchSequence(folder: folder, options: options)
                let mine = sequence.sampleOrder(epoch: epoch)
                #expect(mine.count == sequence.samplesPerEpoch)
                all += mine
            }
            #expect(all.sorted() == Array(0..<folder.samples.count), "epoch \(epoch), world \(worldSize)")
        }
    }
}

@Suite struct ImageBatchSequenceTests {
    static let folder = try! ImageFolder(root: TestPaths.fixtures + "/images")

    func sequence(_ configure: (inout ImageBatchOptions) -> Void = { _ in }) throws(LoaderError) -> ImageBatchSequence {
        var options = ImageBatchOptions()
        options.batchSize = 8
        options.size = 32
        configure(&options)
        return try ImageBatchSequence(folder: Self.folder, options: options)
    }

    @Test func partialLastBatchOrDropLast() throws {
        let keep = try sequence()
        #expect(keep.count == 4)
        #expect(try keep.batch(at: 3).count == 6)
        let drop = try sequence { $0.dropLast = true }
        #expect(drop.count == 3)
    }

    @Test func shuffleIsAPureFunctionOfSeedAndEpoch() throws {
        let s = try sequence { $0.seed = 3 }
        #expect(s.sampleOrder(epoch: 0) == s.sampleOrder(epoch: 0))
        #expect(s.sampleOrder(epoch: 0) != s.sampleOrder(epoch: 1))
        #expect(s.sampleOrder(epoch: 0).sorted() == Array(0..<30))
        let other = try sequence { $0.seed = 4 }
        #expect(s.sampleOrder(epoch: 0) != other.sampleOrder(epoch: 0))
        let unshuffled = try sequence { $0.shuffle = false }
        #expect(unshuffled.sampleOrder(epoch: 5) == Array(0..<30))
    }

    @Test func batchesHaveTheShapeLayoutAndLabelsAsked() throws {
        let nchw = try sequence {
            $0.layout = .nchw
            $0.dtype = .float32
        }
        let b = try nchw.batch(at: 0)
        #expect(b.shape == [8, 3, 32, 32] && b.dtype == .float32 && b.images.count == 8 * 3 * 32 * 32 * 4)
        let order = nchw.sampleOrder(epoch: 0)
        #expect(Array(b.labels) == order.prefix(8).map { Self.folder.samples[$0].label })
        let nhwc = try sequence {
            $0.layout = .nhwc
            $0.dtype = .uint8
        }
        #expect(try nhwc.batch(at: 1).shape == [8, 32, 32, 3])
    }

    @Test func sizeZeroKeepsEachImagesOwnSize() throws {
        let s = try sequence {
            $0.size = 0
            $0.batchSize = 1
            $0.shuffle = false
            $0.flip = .none
            $0.dtype = .uint8
        }
        for index in [0, 5, 29] {
            let b = try s.batch(at: index)
            let header = try ImageDecoder.header(try #require(TestPaths.read(Self.folder.samples[index].path)))
            #expect(b.shape == [1, header.height, header.width, 3])
        }
    }

    @Test func onEpochEndMovesToTheNextEpoch() throws {
        var s = try sequence { $0.seed = 1 }
        let first = try s.batch(at: 0)
        s.onEpochEnd()
        #expect(s.epoch == 1)
        let second = try s.batch(at: 0)
        #expect(Array(first.images) != Array(second.images))
    }

    @Test func invalidOptionsNameTheValueAndRange() {
        do {
            _ = try sequence { $0.batchSize = 0 }
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidOptions && error.message.contains("got 0"))
        }
        do {
            _ = try sequence { $0.size = 0 }
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("batch size 1"))
        }
    }
}
