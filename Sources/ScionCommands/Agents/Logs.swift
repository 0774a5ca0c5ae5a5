import ArgumentParser
import Foundation
import ScionCore

struct Logs: BlockingCommand {
    static let configuration = CommandConfiguration(abstract: "Print the agent's log (everything its agent window printed).")

    @Argument(help: "The agent.") var name: String
    @Option(name: [.customShort("n"), .long], help: "Only the last N lines.") var tail: Int?
    @Flag(name: [.customShort("f"), .long], help: "Keep printing new output until the agent stops.") var follow = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("-n must be zero or more") }
    }

    func runBlocking() throws {
        try global.orchestrator().logs(name, tail: tail, follow: follow) { text in
            Output.write(text)
            return true
        }
    }
}
