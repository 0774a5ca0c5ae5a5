import ArgumentParser
import ScionCore

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop agents; their worktree, home and record stay for `scion resume`.")

    @Argument(help: "The agents to stop.") var names: [String] = []
    @Flag(help: "Stop every running agent of the grove.") var all = false
    @Flag(help: "Delete the agents after stopping them.") var rm = false
    @Flag(name: .customLong("preserve-branch"), help: "With --rm: keep the branches.") var preserveBranch = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if names.isEmpty && !all { throw ValidationError("name an agent to stop, or pass --all") }
        if !names.isEmpty && all { throw ValidationError("pass agent names or --all, not both") }
    }

    func run() async throws {
        let orchestrator = try global.orchestrator()
        let stopped = all ? try orchestrator.stopAll() : try names.map { try orchestrator.stop($0); return $0 }
        if rm {
            for name in stopped { try orchestrator.delete(name, preserveBranch: preserveBranch) }
        }
        if global.format == .json {
            try Output.json(["stopped": stopped])
        } else if stopped.isEmpty {
            print("no running agents")
        } else {
            stopped.forEach { print("stopped \($0)" + (rm ? " and deleted it" : "")) }
        }
    }
}
