import ArgumentParser
import Augload

#if canImport(Glibc)
    import Glibc
#endif

/// `--exclude LIST`, for the commands that load a folder: leave out the files `check
/// --write-exclude LIST` found refused.
struct ExcludeOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Leave out the images listed in this file, one path per line (what check --write-exclude writes).",
            discussion:
                "A line matches an image by its path below DIR (class/file), so the list works however DIR is spelled."),
        completion: .file())
    var exclude: String?

    func validate() throws {
        if let exclude, access(exclude, R_OK) != 0 {
            throw ValidationError("--exclude: cannot read \(exclude): \(String(cString: strerror(errno)))")
        }
    }

    /// `sequence` without the listed images (itself when there is no list).
    /// - Throws: ``LoaderError`` (`.dataset`) when the list cannot be read or leaves no image.
    func apply(to sequence: ImageBatchSequence) throws -> ImageBatchSequence {
        guard let exclude else { return sequence }
        var file = FileBytes()
        do {
            try file.read(path: exclude)
        } catch {
            throw LoaderError(.dataset, "cannot read the exclude list: \(error)", path: exclude)
        }
        let lines = Locator.string(bytes: file.bytes).split(whereSeparator: \.isNewline)
        // Every tail of every line at a "/" ("a/b/c" gives "a/b/c", "b/c", "c"), so an image's path
        // below the root finds its line in one lookup whatever the line's prefix.
        var tails = Set<Substring>()
        for line in lines where !line.isEmpty {
            tails.insert(line)
            var rest = line[...]
            while let slash = rest.firstIndex(of: "/") {
                rest = rest[rest.index(after: slash)...]
                if !rest.isEmpty { tails.insert(rest) }
            }
        }
        let folder = sequence.folder
        let kept = folder.samples.filter { sample in
            let path = Locator.reported(sample.locator)
            let below = path.hasPrefix(folder.root + "/")
            let relative = below ? path.dropFirst(folder.root.count + 1).drop { $0 == "/" } : path[...]
            return !tails.contains(path[...]) && !tails.contains(relative)
        }
        guard !kept.isEmpty else {
            throw LoaderError(.dataset, "every image of \(folder.root) is listed in \(exclude)", path: exclude)
        }
        return try ImageBatchSequence(
            folder: ImageFolder(root: folder.root, classes: folder.classes, samples: kept), options: sequence.options)
    }
}
