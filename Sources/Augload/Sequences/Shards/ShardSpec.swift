import AugloadCore

#if canImport(Glibc)
    import Glibc
#endif

/// Which shards a `--shards SPEC` names, in order.
///
/// - a brace pattern, WebDataset's: `train-{000000..000127}.tar` (a numeric range, zero padding
///   kept from the first bound) or `{a,b,c}` (alternatives); several braces multiply out;
/// - a folder: its `*.tar` files, sorted by name (byte order);
/// - a `.tar` file, or an `http://` / `https://` URL (braces allowed in both);
/// - any other file: a list of shards, one per line (blank lines and `#` comments skipped;
///   relative paths are relative to the list's folder).
enum ShardSpec {
    /// The shards `spec` names, in order.
    /// - Throws: ``LoaderError`` (`.dataset`) for a malformed brace, an empty result or an unreadable list.
    static func expand(_ spec: String) throws(LoaderError) -> [String] {
        let shards: [String]
        if spec.contains("{") {
            shards = try braces(spec)
        } else if Locator.isURL(spec) || spec.hasSuffix(".tar") {
            shards = [spec]
        } else if isDirectory(spec) {
            let names = (try? ImageFolder.list(spec)) ?? []
            shards = names.filter { !$0.isDirectory && $0.name.hasSuffix(".tar") && !$0.name.hasPrefix(".") }
                .map(\.name).sorted(by: ImageFolder.byteOrder).map { spec + "/" + $0 }
        } else {
            shards = try listed(in: spec)
        }
        guard !shards.isEmpty else {
            throw LoaderError(
                .dataset,
                "no shards in \(Locator.display(spec)): give a brace pattern (train-{000000..000009}.tar), a folder of .tar files, a .tar, a URL or a list file",
                path: spec)
        }
        return shards
    }

    /// Expands every `{…}` of `pattern`, left to right.
    static func braces(_ pattern: String) throws(LoaderError) -> [String] {
        guard let open = pattern.firstIndex(of: "{") else { return [pattern] }
        guard let close = pattern[open...].firstIndex(of: "}") else {
            throw LoaderError(.dataset, "unclosed { in the shard pattern \(pattern)", path: pattern)
        }
        let head = String(pattern[..<open])
        let body = String(pattern[pattern.index(after: open)..<close])
        let rest = try braces(String(pattern[pattern.index(after: close)...]))
        var choices: [String]
        let parts = body.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, parts[1].isEmpty {
            let (a, b) = (String(parts[0]), String(parts[2]))
            guard let low = Int(a), let high = Int(b), low <= high, high - low < 10_000_000 else {
                throw LoaderError(
                    .dataset, "bad range {\(body)} in the shard pattern \(pattern): expected {LOW..HIGH}", path: pattern)
            }
            let width = a.count
            choices = (low...high).map { n in
                let digits = String(n)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
        } else {
            choices = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return choices.flatMap { c in rest.map { head + c + $0 } }
    }

    private static func listed(in list: String) throws(LoaderError) -> [String] {
        var file = FileBytes()
        do {
            try file.read(path: list)
        } catch {
            throw LoaderError(
                .dataset,
                "cannot read the shard list \(Locator.display(list)): \(error.message) (a shard spec is a brace pattern, a folder of .tar files, a .tar, a URL or a list file)",
                path: list)
        }
        let base = list.contains("/") ? String(list[..<list.lastIndex(of: "/")!]) : "."
        var shards: [String] = []
        for line in Locator.string(bytes: file.bytes).split(separator: "\n", omittingEmptySubsequences: true) {
            let entry = String(line.hasSuffix("\r") ? line.dropLast() : line[...])
            let trimmed = entry.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let path = String(trimmed)
            let located = Locator.isURL(path) || path.hasPrefix("/") ? path : base + "/" + path
            shards.append(contentsOf: try braces(located))
        }
        return shards
    }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return Locator.withCString(path) { stat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
