import ArgumentParser
import Foundation
import ScionCore

struct Wait: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until agents complete, wait for input, are blocked, fail or stop; the exit status says which.",
        discussion: """
            With several agents, waits for all of them; the exit status is then the first one's (in the order \
            given) that did not complete. Exit status: 0 completed, 10 waiting for input, 11 blocked, 12 failed \
            (non-zero exit of its harness, or an error), 13 stopped, 14 the --timeout passed first. Inside an \
            agent, only its own descendants can be waited on.
            """)

    @Argument(help: "The agents to wait for.") var names: [String]
    @Option(help: "Give up after this long (seconds, or 90s, 30m, 1h30m).") var timeout: String?
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let timeout = try self.timeout.map(Orchestrator.duration)
        let results = try global.orchestrator().wait(names, timeout: timeout)
        if global.format == .json {
            try Output.json(results)
        } else {
            for result in results {
                let message = result.message.map { ": \(TerminalText.line($0))" } ?? ""
                print("\(result.name) \(result.outcome.rawValue.replacingOccurrences(of: "_", with: " "))\(message)")
            }
        }
        if let first = results.first(where: { $0.outcome != .completed }) {
            throw CommandFailure(exitCode: first.outcome.exitCode)
        }
    }
}
