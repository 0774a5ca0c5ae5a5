import ArgumentParser
import Foundation
import ScionCore

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
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
        // In parallel (bounded); one that fails is reported, the others still stop.
        let results = try await Blocking.run { [names, all] in
            orchestrator.stop(all ? try orchestrator.runningAgentNames() : names)
        }
        let stopped = results.filter(\.succeeded).map(\.name)
        if global.format == .plain {
            if results.isEmpty { print("no running agents") }
            stopped.forEach { print("stopped \($0)") }
        }
        for failure in results.compactMap(\.error) {
            FileHandle.standardError.write(Data("error: \(TerminalText.line(failure.message))\n".utf8))
        }
        var outcomes: [DeleteOutcome] = []
        var failure: CommandFailure? = results.compactMap(\.error).first.map { CommandFailure(exitCode: $0.exitCode) }
        if rm {
            do {
                let deletion = AgentDeletion(global: global, preserveBranch: preserveBranch, force: force)
                outcomes = try await Blocking.run { try deletion.delete(stopped, with: orchestrator, json: false) }
            } catch let error as CommandFailure {
                failure = failure ?? error
            }
        }
        if global.format == .json {
            let failed = results.compactMap { result in result.error.map { StopReport.Failure(name: result.name, error: $0.message) } }
            if rm {
                try Output.json(StopReport(
                    stopped: stopped, failed: failed, deleted: outcomes.map(\.name), discarded: outcomes.compactMap(\.discarded)))
            } else {
                try Output.json(StopReport(stopped: stopped, failed: failed, deleted: nil, discarded: nil))
            }
        }
        if let failure { throw failure }
    }
}

struct StopReport: Encodable {
    struct Failure: Encodable {
        var name: String
        var error: String
    }
    var stopped: [String]
    var failed: [Failure]
    var deleted: [String]?
    var discarded: [WorkAtRisk]?
}
