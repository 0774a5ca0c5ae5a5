import ArgumentParser
import Foundation
import ScionCore

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete agents: their container or process, worktree, branch and home.",
        discussion: """
            The branch goes only if scion created it. An agent with commits that no other branch \
            holds, or with uncommitted files, is refused (exit 8); on a terminal you are asked \
            instead (-y answers yes, --non-interactive refuses). --force deletes anyway; whatever \
            is thrown away is reported with the branch tip, so `git branch <name> <sha>` restores it. \
            An agent with children (agents it started) is refused unless its children are deleted in the \
            same command or --cascade deletes its descendants first.
            """,
        aliases: ["rm"])

    @Argument(help: "The agents to delete.") var names: [String] = []
    @Flag(name: [.customShort("b"), .customLong("preserve-branch")], help: "Keep the agents' git branches.")
    var preserveBranch = false
    @Flag(name: [.customShort("f"), .long], help: "Delete even unmerged commits and uncommitted files (their tip is printed).")
    var force = false
    @Flag(help: "Delete every stopped (or failed) agent of the grove.") var stopped = false
    @Flag(help: "Delete the agents' descendants (the agents they started) first.") var cascade = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if names.isEmpty && !stopped { throw ValidationError("name the agents to delete, or pass --stopped") }
    }

    func run() async throws {
        let orchestrator = try global.orchestrator()
        var targets = names
        if stopped {
            targets += try await Blocking.run {
                try orchestrator.list().filter { $0.phase == .stopped || $0.phase == .error }.map(\.name)
            }
        }
        if global.format == .plain && targets.isEmpty { print("nothing to delete") }
        let deletion = AgentDeletion(global: global, preserveBranch: preserveBranch, force: force, cascade: cascade)
        try await Blocking.run { [targets] in try deletion.delete(targets, with: orchestrator) }
    }
}

/// Deletes agents one after the other, asking or refusing as the policy
/// says, printing each result; shared by `delete` and `stop --rm`.
struct AgentDeletion {
    var global: GlobalOptions
    var preserveBranch: Bool
    var force: Bool
    var cascade = false
    /// A squash-merged branch tip whose commits need no question (`merge --squash --delete`).
    var acceptedTip: String? = nil

    /// Deletes every name; prints plain lines as it goes, or one JSON
    /// document at the end. Throws the first failure's exit status.
    @discardableResult
    func delete(_ names: [String], with orchestrator: Orchestrator, json: Bool = true) throws -> [DeleteOutcome] {
        let options = DeleteOptions(
            preserveBranch: preserveBranch, force: force, cascade: cascade, together: Set(names), acceptedTip: acceptedTip)
        let global = self.global
        // In parallel (bounded); questions are asked one at a time.
        let questions = NSLock()
        let results = Blocking.map(names, width: 4) { name -> Result<DeleteOutcome, ScionError> in
            do {
                return .success(try orchestrator.delete(name, options: options) { risk in
                    questions.withLock { Confirmation.ask(risk.question, global) }
                })
            } catch {
                return .failure(ScionError.wrap(error, "cannot delete \(name)"))
            }
        }
        var outcomes: [DeleteOutcome] = []
        var failures: [ScionError] = []
        for result in results {
            switch result {
            case .success(let outcome):
                outcomes.append(outcome)
                if global.format == .plain { outcome.plainLines.forEach { print($0) } }
            case .failure(let failure):
                failures.append(failure)
                FileHandle.standardError.write(Data("error: \(TerminalText.line(failure.message))\n".utf8))
            }
        }
        if json && global.format == .json {
            try Output.json(DeleteReport(deleted: outcomes.map(\.name), discarded: outcomes.compactMap(\.discarded)))
        }
        if let first = failures.first { throw CommandFailure(exitCode: first.exitCode) }
        return outcomes
    }
}

/// `--format json` of a delete: the names deleted and what was thrown away.
struct DeleteReport: Encodable {
    var deleted: [String]
    var discarded: [WorkAtRisk]
}
