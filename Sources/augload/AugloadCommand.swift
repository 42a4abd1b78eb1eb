import ArgumentParser
import Augload

/// The root command: subcommands only, so `augload --workers 7 dir/` routes to `run`.
struct AugloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augload",
        abstract: "Load, decode and augment image folders into training batches with spawned worker processes.",
        discussion: """
            DIR is an image folder with one sub-folder per class (DIR/cat/1.jpg, DIR/dog/2.png, ...). PNG and JPEG are decoded with libpng and libjpeg-turbo; workers write finished batches into shared memory and the loader hands them over in order, without a copy.

            Examples:
              augload --workers 7 data/train     # = augload run --workers 7 data/train
              augload export data/train --out batches/ --batch-size 32 --dtype uint8
              augload bench data/train --workers 1,2,7
              augload preview data/train -o grid.png --samples 6 --variants 5
              augload check data/train           # every file decoded in full; lists the bad ones
              augload pack data/train --out shards/train    # WebDataset tar shards
              augload run --shards 'shards/train-{000000..000009}.tar'   # or a folder, a list, http(s):// URLs

            Exit status: 0 success, 1 the run failed (the message names the file and reason), 2 bad usage.
            """,
        version: EngineVersion.release,
        subcommands: [
            RunCommand.self, ExportCommand.self, BenchCommand.self, PreviewCommand.self, ServeCommand.self, CheckCommand.self,
            PackCommand.self, OptionsCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
