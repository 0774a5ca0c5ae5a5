import ArgumentParser
import Foundation
import ScionCore

struct Merge: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge an agent's branch into the branch checked out here.",
        discussion: """
            Fast-forwards, or makes a merge commit, with the real git (your hooks and merge \
            settings apply). Refused when the agent has uncommitted files, or when your own \
            uncommitted changes are in files the merge would change (exit 8). On conflicts it \
            stops, lists the files and exits 9, leaving the repository as git leaves it: resolve \
            and `git commit`, or `scion merge <agent> --abort`.
            """)

    @Argument(help: "The agent.") var name: String
    @Flag(help: "Put the agent's changes in one new commit instead of merging its history.") var squash = false
    @Option(name: [.customShort("m"), .customLong("message")], help: "The commit message.") var message: String?
    @Flag(help: "Delete the agent after a clean merge (as `scion delete` does).") var delete = false
    @Flag(help: "Undo a merge of this agent that stopped on conflicts.") var abort = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if abort && (squash || message != nil || delete) {
            throw ValidationError("--abort takes no other merge option")
        }
    }

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        let outcome = abort
            ? try orchestrator.abortMerge(name)
            : try orchestrator.merge(MergeRequest(name: name, squash: squash, message: message))
        var deleted: [DeleteOutcome] = []
        if delete && outcome.result != .conflict {
            let accepted = squash ? outcome.tip : nil
            let deletion = AgentDeletion(global: global, preserveBranch: false, force: false, acceptedTip: accepted)
            if global.format == .plain { report(outcome) }
            deleted = try deletion.delete([name], with: orchestrator, json: false)
        } else if global.format == .plain {
            report(outcome)
        }
        if global.format == .json {
            try Output.json(MergeReport(merge: outcome, deleted: deleted.first))
        }
        if outcome.result == .conflict {
            if global.format == .json { throw CommandFailure(exitCode: ScionError(.mergeConflict, "").exitCode) }
            throw ScionError(.mergeConflict, outcome.conflictMessage)
        }
    }

    private func report(_ outcome: MergeOutcome) {
        let into = outcome.into ?? "HEAD"
        let commit = outcome.commit.map { " (\($0.prefix(12)))" } ?? ""
        switch outcome.result {
        case .upToDate: print("\(into) already has everything of \(outcome.agent) (branch \(outcome.branch))")
        case .fastForward: print("fast-forwarded \(into) to \(outcome.branch)\(commit)")
        case .mergeCommit: print("merged \(outcome.branch) into \(into)\(commit)")
        case .squash: print("squashed \(outcome.branch) into one commit on \(into)\(commit)")
        case .aborted: print("merge of \(outcome.agent) aborted; \(into) is back at\(commit.isEmpty ? " its previous commit" : commit)")
        case .conflict:
            FileHandle.standardError.write(Data(outcome.output.utf8))
        }
    }
}

/// `--format json` of a merge: what it did and, with --delete, the delete.
struct MergeReport: Encodable {
    var merge: MergeOutcome
    var deleted: DeleteOutcome?
}
