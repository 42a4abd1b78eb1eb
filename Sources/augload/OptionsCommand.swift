import ArgumentParser
import Augload
import FoundationEssentials

/// `augload options`: every option with its kind, range or choices, default and help, from
/// ``OptionSchema`` — the description the Python package is built with (`--json`).
struct OptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "options",
        abstract: "List every loading option: its flag, range or choices, default and help.",
        discussion: """
            One description serves the command line, the serve protocol (`hello.options`) and the Python package (its keywords' ranges and defaults come from `--json`, read when the wheel is built).

            Examples:
              augload options
              augload options --json
            """)

    @Flag(help: "Print the description as a JSON array on stdout.")
    var json = false

    func run() throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let text = String(decoding: try encoder.encode(OptionSchema.all.map(OptionDescription.init)), as: UTF8.self)
            print(text)
            return
        }
        for spec in OptionSchema.all {
            let flag = spec.flag + String(repeating: " ", count: max(1, 20 - spec.flag.count))
            print("\(flag)\(OptionSchema.help(spec.name))")
        }
    }
}
