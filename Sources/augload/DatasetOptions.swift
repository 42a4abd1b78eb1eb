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

    func validate() throws {
        guard (directory == nil) != (files == nil) else {
            throw ValidationError("give either DIR or --files LIST.csv (exactly one)")
        }
    }

    /// The dataset: DIR's class folders, or the `--files` list.
    func makeDataset() throws(LoaderError) -> ImageFolder {
        if let files { return try ImageFolder(listFile: files) }
        return try ImageFolder(root: directory ?? ".")
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
