import Augload
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Paths shared by the test targets: the repository's `Fixtures/` (conformance files included),
/// the folder with the built binaries, and temporary folders. Nothing outside the checkout.
public enum TestPaths {
    /// The repository root, found from this file's path.
    public static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    public static let fixtures = root + "/Fixtures"

    /// The public conformance files (PngSuite, libpng, libjpeg-turbo, jpeg-decoder, ...), committed
    /// under `Fixtures/conformance` with their licences.
    public static let conformance = fixtures + "/conformance"

    /// The folder holding the test binary, where SwiftPM also puts `augload` and `augload-probe`.
    public static let binaries: String = {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes {
            readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4095)
        }
        var dir = String(decoding: buffer[0..<max(n, 0)], as: UTF8.self)
        dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
        // On Linux the test binary is .build/<config>/<package>PackageTests.xctest itself; strip any
        // bundle folders in case it is nested.
        while dir.split(separator: "/").last?.hasSuffix(".xctest") == true {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.endIndex)])
        }
        return dir
    }()

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// A fresh empty temporary folder.
    public static func temporaryDirectory(_ name: String = "augload-test") -> String {
        var template = Array("/tmp/\(name)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    /// Removes a folder tree.
    public static func remove(_ path: String) {
        _ = try? run("/bin/rm", ["-rf", path])
    }

    /// A folder's entry names, sorted.
    public static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func read(_ path: String) -> [UInt8]? {
        var f = FileBytes()
        return (try? f.read(path: path)) != nil ? f.bytes : nil
    }

    /// Writes a file; `path` is a ``Locator`` string, so a name need not be UTF-8.
    public static func write(_ path: String, _ bytes: [UInt8]) {
        let fd = Locator.withCString(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        precondition(fd >= 0, "cannot write \(path)")
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Copies a file.
    public static func copy(_ from: String, _ to: String) {
        write(to, read(from) ?? [])
    }

    /// Makes a folder (and its parents); `path` is a ``Locator`` string.
    public static func makeDirectory(_ path: String) {
        var sofar = ""
        for part in path.split(separator: "/") {
            sofar += "/" + part
            _ = Locator.withCString(sofar) { mkdir($0, 0o755) }
        }
    }
}

/// One entry of Fixtures/reference.json: what Pillow decoded (or the error it raised).
public struct Reference: Decodable, Sendable {
    public var width: Int?
    public var height: Int?
    public var sha256: String?
    public var error: String?
    public var note: String?
    public var format: String?

    /// All entries, keyed by path relative to Fixtures/ (e.g. `conformance/pngsuite/basn2c08.png`).
    public static let all: [String: Reference] = {
        guard let bytes = TestPaths.read(TestPaths.fixtures + "/reference.json") else { return [:] }
        let raw = (try? JSONDecoder().decode([String: Entry].self, from: Data(bytes))) ?? [:]
        return raw.compactMapValues(\.reference)
    }()

    /// The file a key names.
    public static func path(for key: String) -> String {
        TestPaths.fixtures + "/" + key
    }

    private struct Entry: Decodable {
        var reference: Reference?
        init(from decoder: any Decoder) throws { reference = try? Reference(from: decoder) }
    }
}

/// Ignores SIGPIPE once for the test process (a closed pipe must be an error, not a death).
public let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()
