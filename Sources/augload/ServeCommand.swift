import ArgumentParser
import Augload
import Logging

#if canImport(Glibc)
    import Glibc
#endif

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

    @Option(
        help: ArgumentHelp(
            "Print the explain record of one batch for the hello read on standard input, and exit.", valueName: "EPOCH,BATCH"))
    var explain: String?

    @Flag(help: "With --explain: print the batch's MixUp/CutMix record instead of its samples'.")
    var mix = false

    func run() throws {
        if let explain {
            let parts = explain.split(separator: ",").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 >= 0 }) else {
                throw ValidationError("--explain takes EPOCH,BATCH (non-negative integers), got '\(explain)'")
            }
            var input: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = read(0, &chunk, chunk.count)
                if n <= 0 { break }
                input += chunk[0..<n]
            }
            let record = try ServeSession.explain(hello: input, epoch: parts[0], batch: parts[1], mix: mix)
            print(String(decoding: record, as: UTF8.self))
            return
        }
        var logger = Logger(label: "augload") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let status = ServeSession.serve(socket: fd, parent: parent, logger: logger)
        throw ExitCode(status)
    }
}
