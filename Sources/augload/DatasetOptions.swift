import ArgumentParser
import Augload
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `DIR` or `--files LIST.csv`: the dataset, for every command that reads one.
struct DatasetOptions: ParsableArguments {
    @Argument(help: "Image folder: one sub-folder per class.", completion: .directory)
    var directory: String?

    @Option(help: "A CSV list of images instead of DIR: one 'path,label' per line (label: integer or class name).")
    var files: String?

    @Option(
        help: ArgumentHelp(
            "WebDataset tar shards instead of DIR: a brace pattern (train-{000000..000127}.tar), a folder of .tar files, a .tar, an http(s):// URL, or a list file of them.",
            valueName: "SPEC"))
    var shards: String?

    @Option(
        help: "With --shards: the extension of the member holding each sample's label (cls: an integer; any other: a class name)."
    )
    var label: String = "cls"

    func validate() throws {
        guard [directory != nil, files != nil, shards != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give DIR, --files LIST.csv or --shards SPEC (exactly one)")
        }
        if label != "cls" && shards == nil { throw ValidationError("--label goes with --shards") }
    }

    /// The dataset: DIR's class folders, the `--files` list or the `--shards`; what reading it
    /// noticed without failing (shard samples without an image) goes to stderr.
    func makeDataset() throws(LoaderError) -> ImageFolder {
        let folder: ImageFolder
        if let files {
            folder = try ImageFolder(listFile: files)
        } else if let shards {
            folder = try ImageFolder(shards: [shards], label: label)
        } else {
            folder = try ImageFolder(root: directory ?? ".")
        }
        for note in folder.notes + folder.damage { writeStderr("augload: \(note)\n") }
        return folder
    }
}

/// `--quiet` and `--verbose`: what a command draws and logs on stderr.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress on stderr.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Log worker lifecycle events (spawned, died, restarted) on stderr.")
    var verbose = false

    func makeLogger() -> Logger {
        var logger = Logger(label: "augload") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    /// True when progress may be drawn: stderr is a terminal and nobody asked for quiet output.
    func showsProgress(json: Bool) -> Bool { !quiet && !json && isatty(STDERR_FILENO) == 1 }
}
