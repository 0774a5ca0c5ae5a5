import ArgumentParser
import ScionCore

struct Look: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the agent's current screen.")

    @Argument(help: "The agent.") var name: String
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let screen = try global.orchestrator().look(name)
        if global.format == .json { try Output.json(["name": name, "screen": screen]) } else { Output.write(screen) }
    }
}
