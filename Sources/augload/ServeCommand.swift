import ArgumentParser
import Augload
import Logging

/// `augload serve --fd N`: the engine behind the Python client (`Serve/PROTOCOL.md`).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve batches to a client process over a socket (used by the Python package).",
        discussion: """
            The client starts the engine with one end of a socket pair as --fd, sends its options as JSON, receives the slot memory as a memfd and reads batches in place. The engine exits when the socket closes or the --parent process exits. The protocol is in Sources/Augload/Serve/PROTOCOL.md.
            """,
        shouldDisplay: false)

    @Option(help: "The socket to the client (an inherited file descriptor).")
    var fd: Int32 = 3

    @Option(help: "The client's process id: the engine exits when that process does.")
    var parent: Int32?

    @Flag(name: .shortAndLong, help: "Log worker lifecycle events on stderr.")
    var verbose = false

    func run() throws {
        var logger = Logger(label: "augload") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let status = ServeSession.serve(socket: fd, parent: parent, logger: logger)
        throw ExitCode(status)
    }
}
