import ArgumentParser
import Augload

#if canImport(Glibc)
    import Glibc
#endif

// Exit status contract (docs/cli.md): 0 success, 1 the run failed (the message names the file and the
// reason), 2 bad usage. ArgumentParser exits 64 on bad usage on Linux, so map it here.
do {
    var command = try AugloadCommand.parseAsRoot()
    try command.run()
} catch let error as LoaderError {
    // An option refused by its schema name (`mix_prob must be ...`) is shown with its flag too.
    let named = error.code == .invalidOptions ? OptionSchema.all.first { error.message.hasPrefix($0.name + " ") } : nil
    writeStderr("augload: error: \(named.map { $0.flag + ": " } ?? "")\(error.description)\n")
    exit(error.code == .invalidOptions ? 2 : ExitCode.failure.rawValue)
} catch let error as DecodeError {
    writeStderr("augload: error: \(error.description)\n")
    exit(ExitCode.failure.rawValue)
} catch {
    let code = AugloadCommand.exitCode(for: error)
    let message = AugloadCommand.fullMessage(for: error)
    if code == .success {
        if !message.isEmpty { print(message) }
        exit(0)
    }
    if !message.isEmpty { writeStderr(message + "\n") }
    exit(code == .validationFailure || code.rawValue == 64 ? 2 : code.rawValue)
}
