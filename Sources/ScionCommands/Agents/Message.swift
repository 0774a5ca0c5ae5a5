import ArgumentParser
import ScionCore

struct Message: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Type a message into the agent (a bracketed paste, then Enter).",
        aliases: ["msg"])

    @Argument(help: "The agent (omit with --broadcast).") var name: String?
    @Argument(parsing: .remaining, help: "The text.") var text: [String] = []
    @Flag(help: "First send the harness's interrupt key.") var interrupt = false
    @Flag(help: "Send to every running agent of the grove (the first argument is then part of the text).")
    var broadcast = false
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let orchestrator = try global.orchestrator()
        if broadcast {
            let words = (name.map { [$0] } ?? []) + text
            guard !words.isEmpty else { throw ScionError(.invalidArgument, "nothing to send") }
            let reached = try orchestrator.broadcast(words.joined(separator: " "), interrupt: interrupt)
            if global.format == .json { try Output.json(["sent": reached]) } else { print("sent to \(reached.count) agent(s)") }
            return
        }
        guard let name, !text.isEmpty else { throw ScionError(.invalidArgument, "usage: scion message <agent> <text>") }
        try orchestrator.message(name, text.joined(separator: " "), interrupt: interrupt)
        if global.format == .json { try Output.json(["sent": [name]]) }
    }
}
