import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The command line tool, run as a user runs it: the built binary, its stdout, stderr and exit
/// status.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CLITests {
    static let binary = TestPaths.binaries + "/augload"
    static let images = TestPaths.fixtures + "/images"
    static let small = ["--batch-size", "8", "--size", "32"]

    init() { _ = ignoreSIGPIPE }

    func augload(_ arguments: [String]) throws -> ProcessResult { try run(Self.binary, arguments) }

    func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func runPrintsAOneLineSummary() throws {
        let r = try augload(["run", Self.images, "--workers", "2"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("30 images in") && r.stdout.contains("img/s") && r.stdout.contains("first batch"))
        #expect(r.stdout.contains("data wait") && r.stdout.contains("0 worker restarts") && r.stdout.contains("no files skipped"))
        #expect(r.stderr.isEmpty, "no progress when stderr is not a terminal: \(r.stderr)")
    }

    @Test func versionIsTheOneVersionFile() throws {
        let file = try #require(TestPaths.read(TestPaths.root + "/Sources/Python/augload/VERSION"))
        let version = String(decoding: file, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3, "VERSION holds \(version)")
        let r = try augload(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout == version + "\n")
    }

    @Test func jsonReportHasTheContractKeys() throws {
        let r = try augload(["run", Self.images, "--workers", "2", "--epochs", "2", "--json"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        for key in [
            "images", "batches", "epochs", "seconds", "images_per_second", "time_to_first_batch_seconds", "data_wait_fraction",
            "workers", "worker_restarts", "skipped", "peak_rss_bytes",
        ] {
            #expect(report[key] != nil, "missing \(key)")
        }
        #expect(report["images"] as? Double == 60)
        #expect(report["batches"] as? Double == 8)
        #expect(report["epochs"] as? Double == 2)
        #expect(report["workers"] as? Double == 2)
        #expect((report["peak_rss_bytes"] as? Double ?? 0) > 0)
    }

    @Test func bareDirectoryIsTheRunCommand() throws {
        let bare = try json(try augload([Self.images, "--workers", "1", "--json"] + Self.small).stdout)
        let explicit = try json(try augload(["run", Self.images, "--workers", "1", "--json"] + Self.small).stdout)
        #expect(bare["images"] as? Double == explicit["images"] as? Double)
        #expect(bare["batches"] as? Double == explicit["batches"] as? Double)
        #expect(bare["final_loss"] as? Double == explicit["final_loss"] as? Double, "same seed, same training")
    }

    @Test func usageErrorsExit2NamingTheOption() throws {
        let r = try augload(["run", Self.images, "--crop", "diagonal"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--crop") && r.stderr.contains("diagonal"), "\(r.stderr)")
        let size0 = try augload(["run", Self.images, "--size", "0"])
        #expect(size0.status == 2 && size0.stderr.contains("batch size 1"), "\(size0.stderr)")
        let workers = try augload(["bench", Self.images, "--workers", "1,x"])
        #expect(workers.status == 2 && workers.stderr.contains("--workers"), "\(workers.stderr)")
        let missing = try augload(["export", Self.images])
        #expect(missing.status == 2 && missing.stderr.contains("--out"), "\(missing.stderr)")
    }

    /// This session's options refuse bad values by name: the mix, shards' label member, pack's size.
    @Test func mixShardAndPackOptionsRefuseBadValuesNamingThem() throws {
        let cases: [([String], String)] = [
            (["run", Self.images, "--size", "16", "--mixup=-1"], "--mixup: mixup must be in 0...1000"),
            (["run", Self.images, "--size", "16", "--mix-prob", "2", "--cutmix", "1"], "--mix-prob: mix_prob must be in 0...1"),
            (["run", Self.images, "--size", "16", "--label-smoothing", "1"], "--label-smoothing: label_smoothing must be in 0..<1"),
            (["run", Self.images, "--size", "16", "--cutmix", "1", "--dtype", "uint8"], "cutmix needs dtype float32"),
            (["run", Self.images, "--label", "txt"], "--label goes with --shards"),
            (["run", Self.images, "--mean", "0.5,0.5"], "--mean must be 3 numbers separated by commas"),
            (["run", Self.images, "--std", "1,0,1"], "mean and std need 3 finite values each and std must be non-zero"),
            (["run", Self.images, "--normalize", "imagenet", "--mean", "0,0,0"], "give --normalize or --mean/--std, not both"),
            (["run", Self.images, "--max-pixels", "0"], "--max-pixels: max_pixels must be in 1..."),
            (["run", Self.images, "--rank", "2", "--world-size", "2"], "rank must be in 0..<world_size, got rank 2 of 2"),
            (["run", Self.images, "--shards", Self.images], "give DIR, --files LIST.csv or --shards SPEC"),
            (["pack", Self.images, "--out", "/tmp/augload-never", "--shard-size", "1K"], "--shard-size must be a size"),
        ]
        for (arguments, words) in cases {
            let r = try augload(arguments)
            #expect(r.status == 2 && r.stderr.contains(words), "\(arguments): \(r.stderr)")
        }
    }

    /// Options the CLI and Python once read differently: `RAM` is the RAM cache (it made a folder
    /// named RAM), normalisation with uint8 output is refused (it was ignored).
    @Test func optionsMeanTheSameOnTheCommandLineAsInPython() throws {
        let folder = FileManager.default.currentDirectoryPath + "/RAM"
        #expect(!TestPaths.exists(folder))
        let r = try augload(["run", Self.images, "--workers", "0", "--cache", "RAM"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!TestPaths.exists(folder), "--cache RAM made a folder")
        #expect(r.stdout.contains("cache (ram"), "\(r.stdout)")
        let uint8 = try augload(["run", Self.images, "--normalize", "imagenet", "--dtype", "uint8"] + Self.small)
        #expect(uint8.status == 2 && uint8.stderr.contains("float32 only"), "\(uint8.stderr)")
        let queue = try augload(["run", Self.images, "--queue", "1"] + Self.small)
        #expect(queue.status == 2 && queue.stderr.contains("--queue: queue must be in 2...4096, got 1"), "\(queue.stderr)")
        let recipe = try augload(["run", Self.images, "--auto-augment", "randaugment:2:99"] + Self.small)
        #expect(recipe.status == 2 && recipe.stderr.contains("MAGNITUDE must be an integer in 0...30"), "\(recipe.stderr)")
    }

    /// The command line has a flag for every option of the schema (`augload options --json`,
    /// what the Python package is built with), with the schema's help and default.
    @Test func everyOptionOfTheSchemaIsAFlagWithItsHelpAndDefault() throws {
        let described = try augload(["options", "--json"])
        #expect(described.status == 0, "\(described.stderr)")
        let options = try #require(try JSONSerialization.jsonObject(with: Data(described.stdout.utf8)) as? [[String: Any]])
        #expect(options.count >= 34, "\(options.count) options")
        let help = try augload(["run", "--help"]).stdout
        let oneLine = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for option in options {
            let flag = try #require(option["flag"] as? String)
            let name = try #require(option["name"] as? String)
            #expect(help.contains(flag + " ") || help.contains(flag + "/--no-"), "run --help lacks \(flag)")
            #expect(flag == "--" + name.replacingOccurrences(of: "_", with: "-"))
            let text = try #require(option["help"] as? String).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(oneLine.contains(text), "run --help does not give \(flag) the schema's help: \(text)")
            if let low = (option["min"] as? NSNumber)?.doubleValue, let high = (option["max"] as? NSNumber)?.doubleValue {
                let shown = "\(Int(low))...\(Int(high))"
                #expect(oneLine.contains(shown), "run --help lacks \(flag)'s range \(shown)")
            }
        }
        let defaults = Dictionary(uniqueKeysWithValues: options.map { ($0["name"] as! String, $0["default"]) })
        #expect(defaults["batch_size"] as? Int == 64 && defaults["queue"] as? Int == 10 && defaults["crop"] as? String == "random")
        #expect(defaults["workers"] is NSNull, "workers defaults to one per core, decided by the engine")
    }

    @Test func everyCommandsHelpHasExamples() throws {
        for command in ["run", "export", "bench", "preview"] {
            let r = try augload([command, "--help"])
            #expect(r.status == 0)
            #expect(r.stdout.contains("Examples:") && r.stdout.contains("augload "), "\(command) --help")
        }
    }

    @Test func emptyDirectorySaysHowTheLayoutShouldLook() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let r = try augload(["run", dir, "--workers", "0"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no images found") && r.stderr.contains("<class>"), "\(r.stderr)")
    }

    @Test func badFileUnderFailExits1NamingIt() throws {
        let r = try augload(["run", TestPaths.fixtures + "/bad-folder", "--workers", "2", "--batch-size", "2", "--size", "32"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("dog-2-truncated.jpg") && r.stderr.contains("truncated"), "\(r.stderr)")
    }

    @Test func badFileUnderSkipIsListed() throws {
        let r = try augload([
            "run", TestPaths.fixtures + "/bad-folder", "--workers", "2", "--batch-size", "2", "--size", "32", "--on-error",
            "skip",
            "--json",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        let skipped = try #require(report["skipped"] as? [Any])
        let first = try #require(skipped.first as? [String: Any])
        #expect((first["path"] as? String)?.hasSuffix("dog-2-truncated.jpg") == true)
        #expect((first["error"] as? String)?.contains("truncated") == true)
        #expect(report["images"] as? Double == 6)
    }

    @Test func exportWritesNumpyFilesAndClasses() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let r = try augload(
            ["export", Self.images, "--out", out, "--workers", "2", "--dtype", "uint8", "--layout", "nchw"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let files = TestPaths.list(out)
        #expect(
            files.contains("classes.json") && files.contains("images-0000-000000.npy") && files.contains("labels-0000-000003.npy")
        )
        #expect(files.filter { $0.hasPrefix("images-") }.count == 4)
        let npy = try #require(TestPaths.read(out + "/images-0000-000000.npy"))
        let header = String(decoding: npy[10..<Int(npy[8]) + 10], as: UTF8.self)
        #expect(header.contains("'descr': '|u1'") && header.contains("'shape': (8, 3, 32, 32)"), "\(header)")
        #expect((npy.count - 10 - Int(npy[8])) == 8 * 3 * 32 * 32)
        #expect((Int(npy[8]) + 10) % 64 == 0, "data is 64-byte aligned")
        let classes = String(decoding: TestPaths.read(out + "/classes.json") ?? [], as: UTF8.self)
        #expect(classes == #"["bird","cat","dog"]"#)
    }

    @Test func aFileListGivesTheSameBatchesAsItsFolder() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        // The folder's own order and labels, as a CSV with class names and paths relative to the list.
        var csv = "path,label\n"
        for name in ["bird", "cat", "dog"] {
            for file in TestPaths.list(Self.images + "/" + name) where !file.hasPrefix(".") && !file.hasSuffix(".txt") {
                csv += "../images/\(name)/\(file),\(name)\n"
            }
        }
        TestPaths.makeDirectory(dir + "/lists")
        _ = try run("/bin/cp", ["-r", Self.images, dir + "/images"])
        TestPaths.write(dir + "/lists/train.csv", Array(csv.utf8))
        let common = ["--workers", "2", "--dtype", "uint8"] + Self.small
        let fromList = try augload(["export", "--files", dir + "/lists/train.csv", "--out", dir + "/a"] + common)
        let fromFolder = try augload(["export", dir + "/images", "--out", dir + "/b"] + common)
        #expect(fromList.status == 0 && fromFolder.status == 0, "\(fromList.stderr) \(fromFolder.stderr)")
        for name in TestPaths.list(dir + "/b") {
            let same = TestPaths.read(dir + "/a/" + name) == TestPaths.read(dir + "/b/" + name)
            #expect(same, "\(name) differs between the list and the folder")
        }
        let neither = try augload(["export", "--out", dir + "/c"])
        #expect(neither.status == 2 && neither.stderr.contains("--files"), "\(neither.stderr)")
        TestPaths.write(dir + "/lists/bad.csv", Array("a.jpg\n".utf8))
        let bad = try augload(["run", "--files", dir + "/lists/bad.csv"])
        #expect(bad.status == 1 && bad.stderr.contains("bad.csv line 1"), "\(bad.stderr)")
    }

    @Test func everyRankGetsTheSameBatchCountWhenTheWorldDoesNotDivide() throws {
        // 30 images over 7 ranks in batches of 4: uneven shares would give 2 batches to some ranks, 1 to others.
        for (remainder, images, batches) in [("pad", 5, 2), ("drop", 4, 1)] {
            var counts = Set<Int>()
            for rank in 0..<7 {
                let r = try run(
                    Self.binary,
                    [
                        "run", Self.images, "--batch-size", "4", "--size", "16", "--workers", "0", "--json", "--remainder",
                        remainder,
                    ],
                    environment: ["RANK": "\(rank)", "WORLD_SIZE": "7"])
                #expect(r.status == 0, "\(r.stderr)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
                #expect(json["images"] as? Int == images, "rank \(rank), \(remainder)")
                counts.insert(json["batches"] as? Int ?? -1)
            }
            #expect(counts == [batches], "\(remainder): every rank runs \(batches) batches")
        }
    }

    @Test func exportOfTheRawDecodeMatchesPillow() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let r = try augload([
            "export", Self.images, "--out", out, "--workers", "2", "--batch-size", "1", "--size", "0", "--crop", "none", "--flip",
            "none",
            "--noise", "0", "--no-shuffle", "--dtype", "uint8",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let names = TestPaths.list(Self.images + "/bird").filter { !$0.hasPrefix(".") }
        // Unshuffled: batch k is sample k; bird is class 0, so its files come first.
        for (k, name) in names.enumerated() {
            let reference = try #require(Reference.all["images/bird/" + name])
            let npy = try #require(
                TestPaths.read(out + "/images-0000-\(String(repeating: "0", count: 6 - String(k).count))\(k).npy"))
            let pixels = Array(npy[(Int(npy[8]) + 10)...])
            #expect(sha256Hex(pixels) == reference.sha256, "\(name)")
        }
    }

    @Test func previewWritesAPNGOfTheExpectedSize() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let r = try augload([
            "preview", Self.images, "-o", out + "/grid.png", "--samples", "3", "--variants", "4", "--size", "40",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let png = try #require(TestPaths.read(out + "/grid.png"))
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: width and height, big-endian, at bytes 16 and 20.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 5 * 40 + 6 * 4 && height == 3 * 40 + 4 * 4)
    }

    @Test func previewExplainsEveryCellAsTorchvisionCalls() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let r = try augload([
            "preview", Self.images, "-o", out + "/grid.png", "--samples", "2", "--variants", "3", "--size", "32",
            "--auto-augment", "trivialaugment", "--explain",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let text = String(decoding: try #require(TestPaths.read(out + "/grid.json")), as: UTF8.self)
        let cells = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(cells.count == 2 * 4)
        for cell in cells {
            let ops = try #require(cell["ops"] as? [[String: Any]]).compactMap { $0["op"] as? String }
            #expect(ops.first == "augload_decode", "\(cell)")
            if cell["column"] as? Int == 0 { #expect(!ops.contains("horizontal_flip"), "the plain column is plain: \(ops)") }
        }
    }

    @Test func benchPrintsTheCeilingAndEachWorkerCount() throws {
        let r = try augload(["bench", Self.images, "--workers", "0,2", "--json"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        let ceiling = try #require(report["ceiling"] as? [String: Any])
        #expect(ceiling["images"] as? Double == 30)
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.map { $0["workers"] as? Double } == [0, 2])
        for run in runs {
            #expect(run["complete"] as? Bool == true)
            #expect(run["images"] as? Double == 30)
            #expect((run["imagesPerSecond"] as? Double ?? 0) > 0)
            #expect((run["steadyImagesPerSecond"] as? Double ?? 0) > 0)
            #expect((run["steadyConsumerCPUMillisecondsPerBatch"] as? Double ?? 0) > 0)
        }
        let table = try augload(["bench", Self.images, "--workers", "1"] + Self.small)
        for column in ["decode only", "steady img/s", "vs ceiling", "CPU vs decode", "hand-off/batch", "loader core"] {
            #expect(table.stdout.contains(column), "\(column) in \(table.stdout)")
        }
        #expect(!table.stdout.contains("median over"))
    }

    @Test func runWithACacheReportsHitsMissesAndBytes() throws {
        let r = try augload(["run", Self.images, "--workers", "1", "--epochs", "3", "--cache", "ram", "--json"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        #expect(report["cache_misses"] as? Double == 30)
        #expect(report["cache_hits"] as? Double == 60)
        #expect((report["cache_bytes"] as? Double ?? 0) > 30 * 36 * 36 * 3)
        #expect(report["cache"] as? String == "ram")
        let plain = try json(try augload(["run", Self.images, "--workers", "1", "--json"] + Self.small).stdout)
        #expect(plain["cache_hits"] as? Double == 0 && plain["cache_bytes"] as? Double == 0)
        let summary = try augload(["run", Self.images, "--workers", "2", "--epochs", "2", "--cache", "ram:64M"] + Self.small)
        #expect(summary.status == 0 && summary.stdout.contains("cache (ram): "), "\(summary.stdout)")
        let bad = try augload(["run", Self.images, "--cache", "ram:lots"])
        #expect(bad.status == 2 && bad.stderr.contains("--cache"), "\(bad.stderr)")
        #expect(!summary.stdout.contains("--cache-max-side"), "no hint when the cache serves")
        // Photos that RandomResizedCrop shrinks 2x or more are not stored, and the summary says what to do.
        let photos = TestPaths.temporaryDirectory("augload-cli-photos")
        defer { TestPaths.remove(photos) }
        TestPaths.makeDirectory(photos + "/a")
        for i in 0..<4 { TestPaths.copy(TestPaths.fixtures + "/codecs/jpeg-420-2000x1500-q25.jpg", photos + "/a/\(i).jpg") }
        let large = try augload(
            [
                "run", photos, "--workers", "1", "--epochs", "2", "--cache", "ram", "--crop", "resized", "--size", "32",
                "--batch-size", "2",
            ])
        #expect(large.status == 0 && large.stdout.contains("0 hits, 0 misses, 8 bypassed"), "\(large.stdout)")
        #expect(large.stdout.contains("--cache-max-side N"), "\(large.stdout)")
        let bounded = try augload(
            [
                "run", photos, "--workers", "1", "--epochs", "2", "--cache", "ram", "--crop", "resized", "--size", "32",
                "--batch-size", "2",
                "--cache-max-side", "256",
            ])
        #expect(bounded.status == 0 && bounded.stdout.contains("4 hits, 4 misses, 0 bypassed"), "\(bounded.stdout)")
    }

    @Test func benchWithACacheReportsTheFirstEpochAndTheLaterOnes() throws {
        let dir = TestPaths.temporaryDirectory("augload-cli-cache")
        defer { TestPaths.remove(dir) }
        let r = try augload(["bench", Self.images, "--workers", "1", "--epochs", "2", "--cache", dir, "--json"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let runs = try #require(try json(r.stdout)["runs"] as? [[String: Any]])
        #expect(runs.map { $0["cache"] as? String } == [nil, dir], "without, then with the cache")
        for run in runs {
            #expect((run["firstEpochImagesPerSecond"] as? Double ?? 0) > 0)
            #expect((run["laterEpochsImagesPerSecond"] as? Double ?? 0) > 0)
        }
        let stats = try #require(runs[1]["cacheStatistics"] as? [String: Any])
        #expect(stats["misses"] as? Double == 30 && stats["hits"] as? Double == 30)
        let table = try augload(["bench", Self.images, "--workers", "1", "--epochs", "2", "--cache", "ram"] + Self.small)
        for column in ["epoch 1 img/s", "later img/s", "hits/misses/bypassed", "cache MB/img"] {
            #expect(table.stdout.contains(column), "\(column) in \(table.stdout)")
        }
    }

    /// `--rounds 3`: every worker count three times, round by round, and per worker count the
    /// median and range of the three runs' figures.
    @Test func benchRoundsGiveMediansOfEveryRun() throws {
        let r = try augload(["bench", Self.images, "--workers", "0,1", "--rounds", "3", "--json"] + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        #expect(report["rounds"] as? Double == 3)
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.map { $0["workers"] as? Double } == [0, 1, 0, 1, 0, 1])
        #expect(runs.map { $0["round"] as? Double } == [1, 1, 2, 2, 3, 3])
        let summaries = try #require(report["summaries"] as? [[String: Any]])
        #expect(summaries.map { $0["workers"] as? Double } == [0, 1])
        for (position, summary) in summaries.enumerated() {
            #expect(summary["rounds"] as? Double == 3)
            let own = runs.enumerated().filter { $0.offset % 2 == position }.map {
                $0.element["steadyRatioToCeiling"] as? Double ?? -1
            }
            let spread = try #require(summary["steadyRatioToCeiling"] as? [String: Double])
            // The median of three is the middle run's figure; min and max are the outer ones.
            #expect(spread["median"] == own.sorted()[1] && spread["min"] == own.min() && spread["max"] == own.max())
            #expect(own.allSatisfy { $0 > 0 })
        }
        let table = try augload(["bench", Self.images, "--workers", "1", "--rounds", "2"] + Self.small)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("pipeline, round 2") && table.stdout.contains("median over 2 rounds"))
        let bad = try augload(["bench", Self.images, "--rounds", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--rounds"))
    }

    /// Ctrl-C and SIGTERM end every worker; a SIGKILLed loader's workers exit on their own.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func interruptedRunLeavesNoWorkerBehind(signal: Int32) throws {
        let shmBefore = TestPaths.list("/dev/shm")
        let child = try spawnChild(
            Self.binary,
            ["run", Self.images, "--workers", "3", "--epochs", "50", "--step-time", "0.05", "--verbose"] + Self.small)
        var pids: [Int32] = []
        let expected = min(3, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))  // no more processes than cores
        for _ in 0..<200 where pids.count < expected {
            usleep(25_000)
            pids = Self.spawnedPIDs(child.stderrSoFar)
        }
        #expect(pids.count == expected, "workers spawned: \(child.stderrSoFar)")
        usleep(200_000)
        // The slot memory is an anonymous memfd: the kernel frees it with its last process.
        let links = TestPaths.list("/proc/\(child.pid)/fd").map { fd in
            var buffer = [CChar](repeating: 0, count: 512)
            let n = readlink("/proc/\(child.pid)/fd/\(fd)", &buffer, 511)
            return n > 0 ? String(cString: Array(buffer[0..<n]) + [0]) : ""
        }
        #expect(links.contains { $0.hasPrefix("/memfd:augload-slots") }, "\(links)")
        kill(child.pid, signal)
        let result = child.wait()
        #expect(
            result.signal == signal || result.status == 128 + signal, "exit status reflects the interruption: \(result.status)")
        // Wait for the workers to go (they see the loader's end), up to 5 s on a loaded machine.
        for _ in 0..<100 where pids.contains(where: processIsAlive) { usleep(50_000) }
        #expect(!pids.contains(where: processIsAlive), "workers still alive after 5 s: \(pids.filter(processIsAlive))")
        let added = Set(TestPaths.list("/dev/shm")).subtracting(shmBefore)
        #expect(!added.contains { $0.contains("augload") }, "nothing of ours in /dev/shm: \(added)")
    }

    static func spawnedPIDs(_ log: String) -> [Int32] {
        log.split(separator: "\n").filter { $0.contains("spawned worker") }.compactMap { line in
            guard let r = line.range(of: "pid=") else { return nil }
            return Int32(line[r.upperBound...].prefix { $0.isNumber })
        }
    }
}
