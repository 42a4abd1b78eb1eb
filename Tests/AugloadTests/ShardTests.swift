import Augload
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// WebDataset shards on disk: packing, scanning, the kept index, damage, and the folder's
/// contract (the same images in shards give the same batches).
@Suite(.serialized) struct ShardTests {
    /// Packs the fixture folder into shards of about `size` bytes under a fresh folder; the index
    /// folder is that folder's too, so tests never share one.
    static func packed(shardBytes: Int = 150_000) throws -> (dir: String, report: PackReport) {
        let dir = TestPaths.temporaryDirectory("augload-shards")
        setenv("AUGLOAD_INDEX_DIR", dir + "/index", 1)
        let folder = try ImageFolder(root: TestPaths.fixtures + "/images")
        return (dir, try pack(folder, prefix: dir + "/train", shardBytes: shardBytes))
    }

    static func batches(_ folder: ImageFolder, _ configure: (inout ImageBatchOptions) -> Void = { _ in }) throws -> [[UInt8]] {
        var o = ImageBatchOptions()
        o.batchSize = 8
        o.size = 40
        o.crop = .resized
        o.noise = 0.05
        o.seed = 5
        o.autoAugment = "trivialaugment"
        configure(&o)
        let sequence = try ImageBatchSequence(folder: folder, options: o)
        return try (0..<sequence.count).map { i in
            let b = try sequence.batch(at: i)
            defer { b.release() }
            return Array(b.images) + b.labels.flatMap { withUnsafeBytes(of: $0) { Array($0) } }
        }
    }

    @Test func packedShardsGiveTheFoldersSamplesAndBatches() throws {
        let (dir, report) = try ShardTests.packed()
        defer { TestPaths.remove(dir) }
        #expect(report.samples == 30 && report.shards.count >= 3)
        #expect(report.spec == "\(dir)/train-{000000..\(sixDigits(report.shards.count - 1))}.tar")
        let folder = try ImageFolder(root: TestPaths.fixtures + "/images")
        let shards = try ImageFolder(shards: [report.spec])
        #expect(shards.samples.count == folder.samples.count)
        #expect(shards.samples.map(\.label) == folder.samples.map(\.label))
        #expect(shards.classes == ["0", "1", "2"])
        // The member bytes are the files' bytes.
        var a = FileBytes()
        var b = FileBytes()
        for (s, f) in zip(shards.samples, folder.samples) {
            try a.read(path: s.locator)
            try b.read(path: f.locator)
            #expect(a.bytes == b.bytes)
        }
        #expect(try ShardTests.batches(shards) == ShardTests.batches(folder))
        #expect(try ShardTests.batches(shards) { $0.shuffle = false } == ShardTests.batches(folder) { $0.shuffle = false })
    }

    @Test func aFolderOfShardsAListAndBracesNameTheSameShards() throws {
        let (dir, report) = try ShardTests.packed()
        defer { TestPaths.remove(dir) }
        TestPaths.write(
            dir + "/list.txt",
            Array(
                ("# shards\n\n" + report.shards.map { String($0.dropFirst(dir.count + 1)) }.joined(separator: "\n") + "\n").utf8))
        let expected = try ImageFolder(shards: [report.spec]).samples
        #expect(try ImageFolder(shards: [dir]).samples == expected)
        #expect(try ImageFolder(shards: [dir + "/list.txt"]).samples == expected)
        #expect(try ImageFolder(shards: report.shards).samples == expected)
        #expect(
            try ImageFolder.shards(in: "a-{08..10}-{x,y}.tar") == [
                "a-08-x.tar", "a-08-y.tar", "a-09-x.tar", "a-09-y.tar", "a-10-x.tar", "a-10-y.tar",
            ])
        #expect(throws: LoaderError.self) { try ImageFolder(shards: [dir + "/train-{000000..000001.tar"]) }
    }

    @Test func theIndexIsKeptReusedAndRebuiltWhenAShardChangesOrItIsDamaged() throws {
        let (dir, report) = try ShardTests.packed()
        defer { TestPaths.remove(dir) }
        let first = try ImageFolder(shards: [report.spec])
        let files = TestPaths.list(dir + "/index")
        #expect(files.count == 1 && files[0].hasSuffix(".index"))
        let indexPath = dir + "/index/" + files[0]
        let kept = TestPaths.read(indexPath)!
        #expect(kept.count < 100 * 30 + 1024, "about 60 bytes per sample")
        #expect(try ImageFolder(shards: [report.spec]).samples == first.samples)
        #expect(TestPaths.read(indexPath)! == kept, "reused, not rewritten")
        // Damaged: a flipped byte fails the checksum; the index is rebuilt and the samples are the same.
        var flipped = kept
        flipped[flipped.count / 2] ^= 0x40
        TestPaths.write(indexPath, flipped)
        #expect(try ImageFolder(shards: [report.spec]).samples == first.samples)
        #expect(TestPaths.read(indexPath)! == kept)
        TestPaths.write(indexPath, Array(kept.prefix(100)))
        #expect(try ImageFolder(shards: [report.spec]).samples == first.samples)
        // A shard rewritten (here: one sample fewer at its end) is scanned again.
        let last = report.shards.last!
        let before = try ImageFolder(shards: [last]).samples.count
        let shard = TestPaths.read(last)!
        let cut = try #require(ImageFolder(shards: [last]).samples.last?.member?.offset)
        var shorter = Array(shard.prefix(cut - 512))  // up to the last image's header
        shorter += [UInt8](repeating: 0, count: 1024)
        TestPaths.write(last, shorter)
        #expect(try ImageFolder(shards: [last]).samples.count == before - 1)
    }

    @Test func aTruncatedShardNamesTheShardAndMemberAndSkipReplacesIt() throws {
        let (dir, report) = try ShardTests.packed()
        defer { TestPaths.remove(dir) }
        let last = report.shards.last!
        let samples = try ImageFolder(shards: [last]).samples
        let victim = samples.last!
        let shard = TestPaths.read(last)!
        TestPaths.write(last, Array(shard.prefix(victim.member!.offset + victim.member!.size / 2)))
        let truncated = try ImageFolder(shards: [report.spec])
        #expect(truncated.samples.count == 30, "the member is indexed as declared; reading it is the error")
        var o = ImageBatchOptions()
        o.batchSize = 30
        o.size = 24
        o.shuffle = false
        do {
            _ = try ImageBatchSequence(folder: truncated, options: o).batch(at: 0)
            Issue.record("expected an error")
        } catch let error as LoaderError {
            #expect(error.code == .badFile)
            #expect(
                error.message.contains(last) && error.message.contains(victim.member!.name) && error.message.contains("truncated")
            )
            #expect(error.path == last + "#" + victim.member!.name)
        }
        o.onError = .skip
        let loader = try Loader(ImageBatchSequence(folder: truncated, options: o), workers: 0)
        while let b = try loader.next() { #expect(b.count == 30) }
        #expect(loader.statistics.skipped.map(\.path) == [last + "#" + victim.member!.name])
    }

    @Test func aDamagedHeaderIsNamedAndTheScanFindsTheMembersAfterIt() throws {
        let (dir, report) = try ShardTests.packed(shardBytes: 1 << 30)
        defer { TestPaths.remove(dir) }
        let shard = report.shards[0]
        let samples = try ImageFolder(shards: [shard]).samples
        var bytes = TestPaths.read(shard)!
        let header = samples[10].member!.offset - 512
        bytes[header + 3] ^= 0x21  // the 11th image's name: its checksum no longer matches
        TestPaths.write(shard, bytes)
        let damaged = try ImageFolder(shards: [shard])
        #expect(damaged.samples.count == 29, "the sample behind the damaged header is lost, the rest found")
        #expect(damaged.samples.map(\.member!.name) == samples.filter { $0 != samples[10] }.map(\.member!.name))
        #expect(damaged.damage.contains { $0.contains(shard) && $0.contains("offset \(header)") && $0.contains("000000009.") })
        // Under fail, a damaged shard is refused naming it; under skip the samples around it load.
        var o = ImageBatchOptions()
        o.size = 16
        #expect(throws: LoaderError.self) { try ImageBatchSequence(folder: damaged, options: o) }
        o.onError = .skip
        #expect(try ImageBatchSequence(folder: damaged, options: o).count == 1)
    }

    @Test func fileNamesThatAreNotUTF8ReachOpenUnchanged() throws {
        let dir = TestPaths.temporaryDirectory("augload-names")
        defer { TestPaths.remove(dir) }
        let latin1 = Locator.string(bytes: Array("caf".utf8) + [0xE9])  // "café" in Latin-1
        #expect(
            latin1 == "caf\u{0}e9"
                && Locator.cString(latin1).dropLast().map { UInt8(bitPattern: $0) } == Array("caf".utf8) + [0xE9])
        #expect(Locator.display(dir + "/" + latin1) == dir + "/caf\\xe9")
        TestPaths.makeDirectory(dir + "/" + latin1)
        TestPaths.makeDirectory(dir + "/plain")
        let source = TestPaths.fixtures + "/images/cat/cat-01.jpg"
        for name in [latin1 + ".jpg", "new\nline.jpg", "\u{0}ff\u{0}fe.jpg", "ok-é.jpg"] {
            TestPaths.copy(source, dir + "/" + latin1 + "/" + name)
        }
        TestPaths.copy(source, dir + "/plain/a.jpg")
        let folder = try ImageFolder(root: dir)
        #expect(folder.classes == ["caf\u{0}e9", "plain"])
        #expect(folder.samples.count == 5)
        var file = FileBytes()
        for s in folder.samples {
            try file.read(path: s.path)
            #expect(file.bytes == TestPaths.read(source)!)
        }
        var o = ImageBatchOptions()
        o.batchSize = 5
        o.size = 16
        let batch = try ImageBatchSequence(folder: folder, options: o).batch(at: 0)
        #expect(batch.count == 5)
        batch.release()
        // Packed and read back, names of any bytes and all.
        setenv("AUGLOAD_INDEX_DIR", dir + "/index", 1)
        let report = try pack(folder, prefix: dir + "/" + latin1 + "-shard", shardBytes: 1 << 20)
        #expect(try ImageFolder(shards: [report.spec]).samples.count == 5)
    }
}

/// `n` as six zero-padded digits, as shard numbers are written.
private func sixDigits(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 6 - s.count)) + s
}
