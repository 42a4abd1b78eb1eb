import CAugSystem
import TestSupport
import Testing

@testable import Augload

#if canImport(Glibc)
    import Glibc
#endif

/// The decoded cache: the same bytes with and without it (RAM and disk, any worker count, every
/// epoch), its counters, its memory bound, and a disk cache that is never misused.
@Suite(.serialized, .timeLimit(.minutes(4))) struct DecodedCacheTests {
    init() { _ = ignoreSIGPIPE }

    static let images = TestPaths.fixtures + "/images"
    /// 30 images (PNG and JPEG, 1x1 to 400x400) in Fixtures/images.
    static let sampleCount = 30

    static func sequence(
        folder: String = images, crop: CropMode = .random, cache: String? = nil,
        _ configure: (inout ImageBatchOptions) -> Void = { _ in }
    ) throws -> ImageBatchSequence {
        var o = ImageBatchOptions()
        o.batchSize = 4
        o.size = 48
        o.crop = crop
        o.flip = .hv
        o.noise = 0.05
        o.seed = 5
        o.cache = cache
        configure(&o)
        return try ImageBatchSequence(folder: ImageFolder(root: folder), options: o)
    }

    static func collect(_ loader: Loader, killAfter: Int? = nil) throws -> [ProcessTests.Snapshot] {
        try ProcessTests.collect(loader, killAfter: killAfter)
    }

    static func stats(_ loader: Loader) throws -> CacheStatistics { try #require(loader.statistics.cache) }

    @Test(arguments: [CropMode.random, .resized])
    func batchesAreTheSameBytesWithAndWithoutTheCache(crop: CropMode) throws {
        let reference = try Self.collect(Loader(try Self.sequence(crop: crop), workers: 0, epochs: 3))
        #expect(reference.count == 24)
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer { TestPaths.remove(dir) }
        for cache in ["ram", dir + "/c"] {
            for workers in [0, 1, 2, 7] {
                let loader = try Loader(try Self.sequence(crop: crop, cache: cache), workers: workers, maxQueueSize: 4, epochs: 3)
                let run = try Self.collect(loader)
                #expect(run == reference, "cache \(cache), workers \(workers), crop \(crop)")
                let s = try Self.stats(loader)
                let l = loader.statistics
                #expect(
                    s.hits + s.misses + s.bypassed == 3 * Self.sampleCount,
                    "every use is counted once: cache \(cache) workers \(workers) crop \(crop): \(s); restarts \(l.workerRestarts), retried batches \(l.retriedBatches)"
                )
                #expect(s.hits > 0, "cache \(cache) workers \(workers): \(s)")
                if crop == .random { #expect(s.bypassed == 0, "a crop of a stored resize is always exact") }
            }
        }
    }

    @Test(arguments: [CropMode.random, .resized])
    func aBoundedResolutionIsTheSameBytesWithAndWithoutTheCache(crop: CropMode) throws {
        // The fixtures go up to 400x400: a 100-pixel bound resizes most of them first.
        let bounded: (inout ImageBatchOptions) -> Void = { $0.cacheMaxSide = 100 }
        let reference = try Self.collect(Loader(try Self.sequence(crop: crop, bounded), workers: 0, epochs: 2))
        #expect(reference != (try Self.collect(Loader(try Self.sequence(crop: crop), workers: 0, epochs: 2))))
        for workers in [0, 2] {
            let loader = try Loader(try Self.sequence(crop: crop, cache: "ram", bounded), workers: workers, epochs: 2)
            #expect(try Self.collect(loader) == reference, "workers \(workers), crop \(crop)")
            let s = try Self.stats(loader)
            // (Only an image within the bound can still bypass: with this seed, none does.)
            #expect(s.hits >= Self.sampleCount - 2 && s.bypassed == 0, "\(s)")
            // Stored images are at most 100 pixels on their longer side (random: then resized to a
            // shorter side of 55).
            #expect(s.bytes <= Self.sampleCount * 100 * 100 * 3, "\(s)")
        }
        var o = ImageBatchOptions()
        o.cacheMaxSide = 0
        #expect(throws: LoaderError.self) { try o.validate() }
    }

    @Test func epochOneMissesAndLaterEpochsHit() throws {
        for workers in [0, 1] {
            let loader = try Loader(try Self.sequence(cache: "ram"), workers: workers, epochs: 3)
            _ = try Self.collect(loader)
            let s = try Self.stats(loader)
            #expect(s.misses == Self.sampleCount && s.hits == 2 * Self.sampleCount && s.bypassed == 0, "\(s)")
            #expect(s.entries == Self.sampleCount && s.notStored == 0)
            // Resize of the shorter side to 55 (48 * 8 / 7): about 55 x 55..83 x 3 bytes per image.
            #expect(s.bytes > Self.sampleCount * 55 * 55 * 3 && s.bytes < Self.sampleCount * 55 * 200 * 3, "\(s.bytes)")
            #expect(s.kind == "ram" && s.capacityBytes > 0)
        }
    }

    @Test func randomResizedCropBypassesSamplesThePlainPathDecodesAtADCTScale() throws {
        let loader = try Loader(try Self.sequence(crop: .resized, cache: "ram"), workers: 1, epochs: 3)
        _ = try Self.collect(loader)
        let s = try Self.stats(loader)
        #expect(s.hits + s.misses + s.bypassed == 3 * Self.sampleCount, "every use counted once: \(s)")
        #expect(s.bypassed > 0 && s.hits > 0, "large JPEGs shrunk 2x go back to their file; the rest hit: \(s)")
        // Images whose stored decode would serve fewer than half their uses are never stored.
        #expect(s.entries == s.misses && s.entries > 0 && s.entries < Self.sampleCount, "\(s)")
        let exact = try Loader(try Self.sequence(crop: .resized, cache: "ram") { $0.scaledDecode = false }, workers: 1, epochs: 3)
        _ = try Self.collect(exact)
        #expect(try Self.stats(exact).bypassed == 0, "without DCT scaling nothing is bypassed")
    }

    @Test func aWorkerKilledWhileFillingTheCacheChangesNothing() throws {
        let reference = try Self.collect(Loader(try Self.sequence(), workers: 0, epochs: 2))
        for killAfter in [1, 3] {
            let loader = try Loader(try Self.sequence(cache: "ram"), workers: 2, maxQueueSize: 3, epochs: 2)
            let run = try Self.collect(loader, killAfter: killAfter)
            #expect(run == reference, "killed after \(killAfter) batches")
            #expect(loader.statistics.workerRestarts >= 1)
        }
    }

    @Test func anEntryLeftHalfWrittenByADeadWriterIsNeverRead() throws {
        let table = try CacheTable(samples: 4, ram: true, capacity: 1 << 20)
        let key = CacheTable.Key(a: 12345, b: 678)
        let info = Pipeline.PrefixInfo(sourceWidth: 4, sourceHeight: 4, format: .png, width: 2, height: 2)
        // A writer claimed the key's first entry and died before publishing it.
        let first = table.base + CacheTable.headerBytes + Int(key.a & UInt64(table.tableCount - 1)) * CacheTable.entryBytes
        #expect(aug_atomic_cas_u32(first, 0, 1) != 0)
        first.storeBytes(of: key.a, toByteOffset: 8, as: UInt64.self)
        first.storeBytes(of: key.b, toByteOffset: 16, as: UInt64.self)
        #expect(table.lookup(key) == nil, "a writing entry is invisible")
        let pixels: [UInt8] = Array(0..<12)
        let outcome = pixels.withUnsafeBytes { table.insert(key, info: info, pixels: $0) }
        #expect(outcome == .stored)
        let entry = try #require(table.lookup(key))
        #expect(entry.info == info && Array(UnsafeBufferPointer(start: table.pixels(of: entry), count: 12)) == pixels)
        #expect(pixels.withUnsafeBytes { table.insert(key, info: info, pixels: $0) } == .present)
        table._checkInvariants()
    }

    @Test func theMemoryBoundIsRespected() throws {
        // 224-pixel random crops store 256-pixel resizes: ~6 MB for these files, over a 1 MiB bound.
        let big: (inout ImageBatchOptions) -> Void = { $0.size = 224 }
        let reference = try Self.collect(Loader(try Self.sequence(big), workers: 0, epochs: 2))
        let loader = try Loader(try Self.sequence(cache: "ram:1M", big), workers: 2, epochs: 2)
        #expect(try Self.collect(loader) == reference, "what does not fit is decoded as without a cache")
        let s = try Self.stats(loader)
        #expect(s.capacityBytes == 1 << 20)
        #expect(s.bytes <= 1 << 20 && s.bytes > 0, "\(s)")
        #expect(s.notStored > 0 && s.entries < Self.sampleCount, "\(s)")
    }

    @Test func aDiskCachePersistsAndIsUsedOnlyByTheSamePipeline() throws {
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer { TestPaths.remove(dir) }
        let first = try Loader(try Self.sequence(cache: dir), workers: 2, epochs: 1)
        _ = try Self.collect(first)
        #expect(try Self.stats(first).misses == Self.sampleCount)
        // Another pipeline prefix (centre crop after a resize to 64 * 8 / 7): nothing is reused.
        let other = try Loader(try Self.sequence(crop: .center, cache: dir) { $0.size = 64 }, workers: 2, epochs: 1)
        _ = try Self.collect(other)
        #expect(try Self.stats(other).hits == 0 && (try Self.stats(other)).misses == Self.sampleCount)
        // The first pipeline again, in a new run (another seed: only the prefix matters): all hits.
        let reference = try Self.collect(Loader(try Self.sequence { $0.seed = 8 }, workers: 0, epochs: 1))
        let again = try Loader(try Self.sequence(cache: dir) { $0.seed = 8 }, workers: 2, epochs: 1)
        #expect(try Self.collect(again) == reference)
        let s = try Self.stats(again)
        #expect(s.hits == Self.sampleCount && s.misses == 0, "\(s)")
        #expect(s.entries == Self.sampleCount && s.bytes > 0 && s.kind == "disk")
        #expect(TestPaths.list(dir).count == 2, "one folder per pipeline prefix: \(TestPaths.list(dir))")
    }

    /// A copy of the fixture images in a temporary folder, to change.
    static func copyOfImages() -> String {
        let root = TestPaths.temporaryDirectory("augload-images")
        for cls in TestPaths.list(images) {
            TestPaths.makeDirectory(root + "/" + cls)
            for name in TestPaths.list(images + "/" + cls) {
                TestPaths.copy(images + "/\(cls)/\(name)", root + "/\(cls)/\(name)")
            }
        }
        return root
    }

    @Test func aDiskEntryOfAChangedFileIsNotUsed() throws {
        let root = Self.copyOfImages()
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer {
            TestPaths.remove(root)
            TestPaths.remove(dir)
        }
        _ = try Self.collect(Loader(try Self.sequence(folder: root, cache: dir), workers: 1))
        // Same bytes, new mtime (touch); and new content of another size (another image's bytes).
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, root + "/cat/cat-01.jpg", &times, 0) == 0)
        TestPaths.copy(root + "/dog/dog-03.JPEG", root + "/bird/bird-02.jpg")
        // Rewritten in place with its size and mtime kept (as `cp -p` or `rsync -t` leave it):
        // only the ctime, which no call can set back, tells.
        let rewritten = root + "/cat/cat-05.jpg"
        var st = stat()
        #expect(stat(rewritten, &st) == 0)
        let bytes = try #require(TestPaths.read(rewritten))
        usleep(20_000)
        TestPaths.write(rewritten, bytes)
        var kept = [st.st_atim, st.st_mtim]
        #expect(utimensat(AT_FDCWD, rewritten, &kept, 0) == 0)
        var after = stat()
        #expect(stat(rewritten, &after) == 0 && after.st_size == st.st_size && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
        let reference = try Self.collect(Loader(try Self.sequence(folder: root), workers: 0))
        let loader = try Loader(try Self.sequence(folder: root, cache: dir), workers: 1)
        #expect(try Self.collect(loader) == reference, "the changed files are decoded again")
        let s = try Self.stats(loader)
        #expect(s.misses == 3 && s.hits == Self.sampleCount - 3, "\(s)")
    }

    @Test func aBoundedDiskCacheStaysWithinItsBound() throws {
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer { TestPaths.remove(dir) }
        // 224-pixel crops: prefix images of ~200 KB, 30 of them ~6 MB against a 2 MB bound.
        let big: (inout ImageBatchOptions) -> Void = { $0.size = 224 }
        let reference = try Self.collect(Loader(try Self.sequence(big), workers: 0, epochs: 2))
        func entryBytes() -> Int {
            TestPaths.list(dir).flatMap { sub in
                TestPaths.list(dir + "/" + sub).filter { $0.hasSuffix(".entry") }.map { dir + "/" + sub + "/" + $0 }
            }.reduce(0) { $0 + (TestPaths.read($1)?.count ?? 0) }
        }
        let first = try Loader(try Self.sequence(cache: dir + ":2M", big), workers: 2, epochs: 2)
        #expect(try Self.collect(first) == reference, "what does not fit is decoded as without a cache")
        let s = try Self.stats(first)
        #expect(s.capacityBytes == 2 << 20 && s.bytesAtStart == 0)
        #expect(s.entries > 0 && s.entries < Self.sampleCount && s.notStored > 0, "\(s)")
        let held = entryBytes()
        #expect(held > 1 << 20 && held <= 2 << 20, "the folder holds \(held) bytes")
        // A second run counts what is there: its hits are the stored images, and it adds nothing.
        let second = try Loader(try Self.sequence(cache: dir + ":2M", big), workers: 2, epochs: 1)
        #expect(try Self.collect(second) == Array(reference.prefix(reference.count / 2)))
        let t = try Self.stats(second)
        #expect(t.bytesAtStart == held && t.hits == s.entries, "\(t)")
        #expect(entryBytes() == held, "a full folder gets no new entry")
    }

    @Test func aCorruptedDiskEntryIsRebuilt() throws {
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer { TestPaths.remove(dir) }
        let reference = try Self.collect(Loader(try Self.sequence(), workers: 0))
        _ = try Self.collect(Loader(try Self.sequence(cache: dir), workers: 1))
        let folder = dir + "/" + (TestPaths.list(dir).first ?? "")
        let entries = TestPaths.list(folder).filter { $0.hasSuffix(".entry") }
        #expect(entries.count == Self.sampleCount)
        // One bit flipped in the pixels, one truncated, one emptied, one with a wrong size field.
        var flipped = try #require(TestPaths.read(folder + "/" + entries[0]))
        flipped[flipped.count - 100] ^= 0x10
        TestPaths.write(folder + "/" + entries[0], flipped)
        let truncated = try #require(TestPaths.read(folder + "/" + entries[1]))
        TestPaths.write(folder + "/" + entries[1], Array(truncated.prefix(truncated.count / 2)))
        TestPaths.write(folder + "/" + entries[2], [])
        var header = try #require(TestPaths.read(folder + "/" + entries[3]))
        header[56] ^= 0x01  // the stored image's width
        TestPaths.write(folder + "/" + entries[3], header)
        TestPaths.write(folder + "/tmp-999999-1", [1, 2, 3])  // a killed writer's leftover
        for workers in [0, 2] {
            let loader = try Loader(try Self.sequence(cache: dir), workers: workers)
            #expect(try Self.collect(loader) == reference, "workers \(workers)")
            let s = try Self.stats(loader)
            #expect(s.misses == (workers == 0 ? 4 : 0) && s.hits == Self.sampleCount - s.misses, "workers \(workers): \(s)")
        }
        #expect(!TestPaths.list(folder).contains { $0.hasPrefix("tmp-") }, "leftover temporary files are removed")
    }

    /// A disk entry is untrusted input: every single-bit flip and every truncation of a real entry
    /// is refused (or, in the 8 padding bytes no field uses, read as the same image), never trapped on.
    @Test func everyFlippedBitAndTruncationOfADiskEntryIsRefused() throws {
        let dir = TestPaths.temporaryDirectory("augload-cache")
        defer { TestPaths.remove(dir) }
        let path = Self.images + "/cat/cat-01.jpg"
        var o = ImageBatchOptions()
        o.size = 16
        let pipeline = o.pipeline
        let spec = pipeline.prefixSpecification + "\n" + DecodedCache.libraryVersion + "\n"
        let disk = try DiskEntries(root: dir, specification: spec, specHash: CacheTable.Key(a: 1, b: 2), removeLeftovers: true)
        let identity = try #require(FileIdentity(path: path))
        var workspace = Pipeline.Workspace()
        let file = try #require(TestPaths.read(path))
        let info = try #require(try pipeline.realizePrefix(bytes: file, workspace: &workspace))
        let pixels = workspace.prefix.pixels
        let key = CacheTable.Key(a: 0x1234, b: 0x5678)
        var scratch: [UInt8] = []
        #expect(disk.write(key, sourcePath: path, identity: identity, info: info, pixels: pixels, scratch: &scratch))
        let entryPath = disk.path(for: key)
        let good = try #require(TestPaths.read(entryPath))
        var buffer = FileBytes()
        func readBack() -> (info: Pipeline.PrefixInfo, pixels: ArraySlice<UInt8>)? {
            guard let found = disk.read(key, sourcePath: path, identity: identity, into: &buffer) else { return nil }
            return (found.info, buffer.bytes[found.pixelsAt...])
        }
        let intact = try #require(readBack())
        #expect(intact.info == info && Array(intact.pixels) == pixels)
        let padding = 104..<112
        // Every bit of the header and path, and a bit of every 97th pixel byte.
        let positions =
            Array(0..<(good.count - pixels.count)) + Array(stride(from: good.count - pixels.count, to: good.count, by: 97))
        var refused = 0
        for i in positions {
            for bit in (i < good.count - pixels.count ? Array(0..<8) : [i % 8]) {
                var bad = good
                bad[i] ^= UInt8(1 << bit)
                TestPaths.write(entryPath, bad)
                if let back = readBack() {
                    #expect(padding.contains(i) && back.info == info && Array(back.pixels) == pixels, "byte \(i) bit \(bit)")
                } else {
                    refused += 1
                }
            }
        }
        #expect(refused > 900, "\(refused) flips refused")
        for length in [0, 1, 8, 95, 96, 111, 112, good.count / 2, good.count - 1] {
            TestPaths.write(entryPath, Array(good.prefix(length)))
            #expect(readBack() == nil, "truncated to \(length) bytes")
        }
        TestPaths.write(entryPath, good + [0])
        #expect(readBack() == nil, "a byte too many")
    }

    @Test func aBadFileGetsTheSameVerdictWithTheCache() throws {
        for cache in [nil, "ram"] as [String?] {
            var o = ImageBatchOptions()
            o.batchSize = 2
            o.size = 32
            o.onError = .skip
            o.seed = 4
            o.cache = cache
            let sequence = try ImageBatchSequence(folder: ImageFolder(root: TestPaths.fixtures + "/bad-folder"), options: o)
            let loader = try Loader(sequence, workers: 2, epochs: 2)
            let run = try Self.collect(loader)
            var plain = o
            plain.cache = nil
            let reference = try Self.collect(
                Loader(
                    try ImageBatchSequence(folder: ImageFolder(root: TestPaths.fixtures + "/bad-folder"), options: plain),
                    workers: 0, epochs: 2))
            #expect(run == reference)
            #expect(loader.statistics.skipped.map(\.path).contains { $0.hasSuffix("dog-2-truncated.jpg") })
            if cache != nil { #expect(try Self.stats(loader).entries == 5, "the truncated file is never stored") }
        }
    }

    @Test func cacheSettingsParse() throws {
        #expect(try CacheSetting(parsing: "ram") == .ram(bytes: nil))
        #expect(try CacheSetting(parsing: "ram:2G") == .ram(bytes: 2 << 30))
        #expect(try CacheSetting(parsing: "ram:512m") == .ram(bytes: 512 << 20))
        #expect(try CacheSetting(parsing: "/tmp/x") == .directory("/tmp/x"))
        #expect(try CacheSetting(parsing: "/tmp/x:50G") == .directory("/tmp/x", bytes: 50 << 30))
        #expect(try CacheSetting(parsing: "/tmp/c:1G/") == .directory("/tmp/c:1G/"))
        #expect(try CacheSetting(parsing: "cache:old") == .directory("cache:old"))
        for bad in ["ram:", "ram:lots", "ram:10", "", "/tmp/x:10"] {
            #expect(throws: LoaderError.self, "\(bad)") { try CacheSetting(parsing: bad) }
        }
        var o = ImageBatchOptions()
        o.cache = "ram:x"
        #expect(throws: LoaderError.self) { try o.validate() }
        #expect(CacheSetting.defaultRAMBytes() >= 64 << 20)
    }
}
