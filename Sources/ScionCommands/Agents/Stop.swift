import ArgumentParser
import Foundation
import ScionCore

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop agents; their worktree, home and record stay for `scion resume`.")

    @Argument(help: "The agents to stop.") var names: [String] = []
    @Flag(help: "Stop every running agent of the grove.") var all = false
    @Flag(help: "Delete the agents after stopping them (as `scion delete` would: work that would be lost is refused or asked about).")
    var rm = false
    @Flag(name: .customLong("preserve-branch"), help: "With --rm: keep the branches.") var preserveBranch = false
    @Flag(name: [.customShort("f"), .long], help: "With --rm: delete even unmerged commits and uncommitted files.")
    var force = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if names.isEmpty && !all { throw ValidationError("name an agent to stop, or pass --all") }
        if !names.isEmpty && all { throw ValidationError("pass agent names or --all, not both") }
        if (force || preserveBranch) && !rm { throw ValidationError("--force and --preserve-branch go with --rm") }
    }

    func run() async throws {
        let orchestrator = try global.orchestrator()
        let stopped = all ? try orchestrator.stopAll() : try names.map { try orchestrator.stop($0); return $0 }
        if global.format == .plain {
            if stopped.isEmpty { print("no running agents") }
            stopped.forEach { print("stopped \($0)") }
        }
        var outcomes: [DeleteOutcome] = []
        var failure: CommandFailure?
        if rm {
            do {
                outcomes = try AgentDeletion(global: global, preserveBranch: preserveBranch, force: force)
                    .delete(stopped, with: orchestrator, json: false)
            } catch let error as CommandFailure {
                failure = error
            }
        }
        if global.format == .json {
            if rm {
                try Output.json(StopReport(
                    stopped: stopped, deleted: outcomes.map(\.name), discarded: outcomes.compactMap(\.discarded)))
            } else {
                try Output.json(["stopped": stopped])
            }
        }
        if let failure { throw failure }
    }
}

struct StopReport: Encodable {
    var stopped: [String]
    var deleted: [String]
    var discarded: [WorkAtRisk]
}
