import ArgumentParser
import ScionCore

struct Look: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "look",
        abstract: "Print the agent's current screen (its last screen once its harness has exited).")

    @Argument(help: "The agent.") var name: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let screen = try global.orchestrator().look(name)
        if global.format == .json { try Output.json(screen) } else { Output.write(screen.screen) }
    }
}
