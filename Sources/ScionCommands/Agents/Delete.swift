import ArgumentParser
import Foundation
import ScionCore

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete agents: their container or process, worktree, branch and home.",
        aliases: ["rm"])

    @Argument(help: "The agents to delete.") var names: [String] = []
    @Flag(name: [.customShort("b"), .customLong("preserve-branch")], help: "Keep the agents' git branches.")
    var preserveBranch = false
    @Flag(help: "Delete every stopped (or failed) agent of the grove.") var stopped = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if names.isEmpty && !stopped { throw ValidationError("name the agents to delete, or pass --stopped") }
    }

    func run() async throws {
        let orchestrator = try global.orchestrator()
        var targets = names
        if stopped {
            targets += try orchestrator.list().filter { $0.phase == .stopped || $0.phase == .error }.map(\.name)
        }
        var deleted: [String] = []
        var failures: [ScionError] = []
        for name in targets {
            do {
                try orchestrator.delete(name, preserveBranch: preserveBranch)
                deleted.append(name)
                if global.format == .plain { print("deleted \(name)") }
            } catch {
                let failure = ScionError.wrap(error, "cannot delete \(name)")
                failures.append(failure)
                FileHandle.standardError.write(Data("error: \(TerminalText.line(failure.message))\n".utf8))
            }
        }
        if global.format == .json { try Output.json(["deleted": deleted]) }
        if global.format == .plain && targets.isEmpty { print("nothing to delete") }
        if let first = failures.first { throw CommandFailure(exitCode: first.exitCode) }
    }
}
