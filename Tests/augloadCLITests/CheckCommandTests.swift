import Augload
import Foundation
import TestSupport
import Testing

/// `augload check DIR`, run as a user runs it: the built binary, its stdout, stderr and exit status.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CheckCommandTests {
    static let binary = TestPaths.binaries + "/augload"

    init() { _ = ignoreSIGPIPE }

    func augload(_ arguments: [String]) throws -> ProcessResult { try run(Self.binary, arguments) }

    func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }

    /// A class folder holding every file of Fixtures/bad and Fixtures/damaged, beside a few good ones.
    func damagedFolder() -> String {
        let dir = TestPaths.temporaryDirectory("augload-check")
        TestPaths.makeDirectory(dir + "/bad")
        TestPaths.makeDirectory(dir + "/good")
        for sub in ["bad", "damaged"] {
            for name in TestPaths.list(TestPaths.fixtures + "/" + sub) where ImageFolder.isImageName(name) {
                TestPaths.copy(TestPaths.fixtures + "/\(sub)/\(name)", dir + "/bad/\(sub)-\(name)")
            }
        }
        for name in TestPaths.list(TestPaths.fixtures + "/images/cat") where ImageFolder.isImageName(name) {
            TestPaths.copy(TestPaths.fixtures + "/images/cat/" + name, dir + "/good/" + name)
        }
        return dir
    }

    @Test func aGoodFolderExits0WithASummary() throws {
        let r = try augload(["check", TestPaths.fixtures + "/images", "--workers", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("checked 30 files in "), "\(r.stdout)")
        #expect(r.stdout.contains("files/s, 2 workers): 0 refused, 0 with warnings"), "\(r.stdout)")
        #expect(r.stderr.isEmpty, "no progress when stderr is not a terminal: \(r.stderr)")
    }

    @Test func aRefusedFileIsListedWithItsReasonAndExits1() throws {
        let r = try augload(["check", TestPaths.fixtures + "/bad-folder", "--workers", "2"])
        #expect(r.status == 1, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(r.stdout)")
        #expect(
            lines.first?.hasPrefix("refused ") == true && lines.first?.contains("dog/dog-2-truncated.jpg: truncated JPEG") == true
        )
        #expect(r.stdout.contains("checked 6 files") && r.stdout.contains("1 refused, 0 with warnings"), "\(r.stdout)")
    }

    @Test func jsonHasCountsTimingsAndOneEntryPerBadFile() throws {
        let r = try augload(["check", TestPaths.fixtures + "/bad-folder", "--workers", "1", "--json"])
        #expect(r.status == 1, "\(r.stderr)")
        let report = try json(r.stdout)
        #expect(report["files"] as? Double == 6)
        #expect(report["bad"] as? Double == 1)
        #expect(report["warnings"] as? Double == 0)
        #expect((report["seconds"] as? Double ?? 0) > 0)
        #expect((report["files_per_second"] as? Double ?? 0) > 0)
        let verdicts = try #require(report["verdicts"] as? [[String: Any]])
        #expect(verdicts.count == 1)
        #expect((verdicts.first?["path"] as? String)?.hasSuffix("dog/dog-2-truncated.jpg") == true)
        #expect(verdicts.first?["verdict"] as? String == "refused")
        #expect(verdicts.first?["code"] as? String == "truncated")
        #expect((verdicts.first?["reason"] as? String)?.contains("truncated JPEG") == true)
    }

    /// Every bad file is a verdict, never the end of the check, and each verdict is the full
    /// decode's — with workers and in-process alike.
    @Test(arguments: [0, 2])
    func everyDamagedFileGetsItsFullDecodeVerdict(workers: Int) throws {
        let dir = damagedFolder()
        defer { TestPaths.remove(dir) }
        let r = try augload(["check", dir, "--workers", "\(workers)", "--json"])
        #expect(r.status == 1, "\(r.stderr)")
        let report = try json(r.stdout)
        let folder = try ImageFolder(root: dir)
        #expect(report["files"] as? Int == folder.samples.count)
        var expected: [String: Verdict] = [:]
        var image = Image()
        for sample in folder.samples {
            let verdict = Verdict.of(TestPaths.read(sample.path) ?? [], image: &image)
            if verdict != .good { expected[sample.path] = verdict }
        }
        let entries = try #require(report["verdicts"] as? [[String: Any]])
        #expect(entries.count == expected.count)
        #expect(report["bad"] as? Double == Double(expected.values.filter(\.isRefused).count))
        #expect(expected.count > 30, "most of Fixtures/bad and Fixtures/damaged is bad")
        for entry in entries {
            let path = try #require(entry["path"] as? String)
            let verdict = try #require(expected[path], "\(path) is good in a full decode")
            #expect(entry["verdict"] as? String == verdict.label, "\(path)")
            #expect(entry["code"] as? String == verdict.code, "\(path)")
            #expect(entry["reason"] as? String == verdict.reason, "\(path)")
        }
    }

    @Test func warningsExit0AndStrictMakesThemRefusals() throws {
        let dir = TestPaths.temporaryDirectory("augload-check")
        defer { TestPaths.remove(dir) }
        TestPaths.makeDirectory(dir + "/c")
        TestPaths.copy(TestPaths.fixtures + "/bad/corrupt-middle.jpg", dir + "/c/corrupt-middle.jpg")
        TestPaths.copy(TestPaths.fixtures + "/images/cat/cat-01.jpg", dir + "/c/cat-01.jpg")
        let lenient = try augload(["check", dir, "--workers", "1"])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        #expect(lenient.stdout.contains("warning \(dir)/c/corrupt-middle.jpg: decoded with"), "\(lenient.stdout)")
        #expect(lenient.stdout.contains("0 refused, 1 with warnings"))
        let strict = try augload(["check", dir, "--workers", "1", "--strict"])
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("refused \(dir)/c/corrupt-middle.jpg: JPEG warning (strict mode)"), "\(strict.stdout)")
    }

    @Test func writeExcludeListsTheRefusedPaths() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let r = try augload([
            "check", TestPaths.fixtures + "/bad-folder", "--workers", "1", "--write-exclude", out + "/exclude.txt",
        ])
        #expect(r.status == 1)
        let text = String(decoding: TestPaths.read(out + "/exclude.txt") ?? [], as: UTF8.self)
        #expect(text == TestPaths.fixtures + "/bad-folder/dog/dog-2-truncated.jpg\n", "\(text)")
    }

    @Test func runAndExportLeaveOutTheExcludedFiles() throws {
        let out = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(out) }
        let folder = TestPaths.fixtures + "/bad-folder"
        _ = try augload(["check", folder, "--workers", "1", "--write-exclude", out + "/exclude.txt"])
        let run = try augload([
            "run", folder, "--workers", "2", "--batch-size", "2", "--size", "32", "--json", "--exclude", out + "/exclude.txt",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try json(run.stdout)["images"] as? Double == 5)
        // Lines match by the path below DIR, however DIR was spelled when the list was written.
        TestPaths.write(out + "/relative.txt", Array("elsewhere/bad-folder/dog/dog-2-truncated.jpg\n".utf8))
        let export = try augload([
            "export", folder + "/", "--out", out + "/npy", "--workers", "0", "--batch-size", "1", "--size", "16", "--exclude",
            out + "/relative.txt",
        ])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("(5 images)"), "\(export.stdout)")
        let missing = try augload(["run", folder, "--exclude", out + "/no-such-list.txt"])
        #expect(missing.status == 2 && missing.stderr.contains("--exclude"), "\(missing.stderr)")
    }

    @Test func aFilesListIsCheckedLikeAFolder() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let bad = TestPaths.fixtures + "/bad-folder"
        TestPaths.write(
            dir + "/list.csv", Array("path,label\n\(bad)/cat/cat-1.jpg,cat\n\(bad)/dog/dog-2-truncated.jpg,dog\n".utf8))
        let r = try augload(["check", "--files", dir + "/list.csv", "--workers", "1"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("refused \(bad)/dog/dog-2-truncated.jpg: truncated JPEG"), "\(r.stdout)")
        #expect(r.stdout.contains("checked 2 files"), "\(r.stdout)")
        let both = try augload(["check", bad, "--files", dir + "/list.csv"])
        #expect(both.status == 2 && both.stderr.contains("--files"), "\(both.stderr)")
    }

    @Test func usageErrorsExit2AndHelpHasExamples() throws {
        let missing = try augload(["check"])
        #expect(missing.status == 2)
        let workers = try augload(["check", TestPaths.fixtures + "/images", "--workers", "-1"])
        #expect(workers.status == 2 && workers.stderr.contains("--workers"), "\(workers.stderr)")
        let help = try augload(["check", "--help"])
        #expect(help.status == 0 && help.stdout.contains("Examples:") && help.stdout.contains("augload check"))
    }
}
