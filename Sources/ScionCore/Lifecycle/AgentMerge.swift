import Foundation
import ScionPluginKit

/// `scion merge`: brings an agent's branch into the branch checked out
/// where the command runs. The analysis (what the merge would touch, the
/// user's uncommitted files, conflicts) is libgit2's; the merge itself is
/// the real `git merge`, run by argv in that checkout, so the user's hooks
/// (pre-merge-commit, commit-msg, post-merge), config (merge.ff,
/// merge.conflictStyle, commit.gpgSign, merge drivers) and rerere apply,
/// and a conflict leaves exactly the state git leaves, for plain git to
/// resolve (docs/cli.md, "Reviewing and merging").
public struct MergeRequest: Sendable {
    public var name: String
    public var squash: Bool
    /// The commit message (a squash, or a merge commit); git's own when nil.
    public var message: String?

    public init(name: String, squash: Bool = false, message: String? = nil) {
        self.name = name
        self.squash = squash
        self.message = message
    }
}

public struct MergeOutcome: Sendable, Encodable {
    public enum Result: String, Sendable, Encodable {
        case fastForward = "fast_forward", mergeCommit = "merge_commit", squash, upToDate = "up_to_date"
        case conflict, aborted
    }

    public var agent: String
    public var branch: String
    /// The branch merged into (nil when HEAD is detached).
    public var into: String?
    public var result: Result
    /// HEAD after the merge.
    public var commit: String?
    /// The branch tip that was merged.
    public var tip: String?
    public var conflicts: [String] = []
    /// What git printed.
    public var output: String = ""

    enum CodingKeys: String, CodingKey {
        case agent, branch, into, result, commit, tip, conflicts, output
    }

    /// The sentence of a conflict, with what to do next.
    public var conflictMessage: String {
        "merging \(agent) (branch \(branch)) stopped on conflicts in \(conflicts.joined(separator: ", ")): resolve them and `git commit`, or undo the merge with `scion merge \(agent) --abort`"
    }
}

/// What `merge --abort` needs: the checkout and its HEAD before the merge.
struct MergeState: Codable {
    var checkout: String
    var head: String
    var squash: Bool
    var startedAt: Date

    enum CodingKeys: String, CodingKey {
        case checkout, head, squash, startedAt = "started_at"
    }
}

extension Orchestrator {
    func mergeStatePath(_ name: String) -> String { store.directory(name) + "/merge.json" }

    /// An agent merges (and aborts merges of) only its own descendants, and
    /// only into its own branch, in its own worktree; refusals exit 15 and
    /// go into its journal. The user may merge anything anywhere.
    func requireMergeAuthority(_ name: String, into checkout: String) throws {
        guard let actor = authority.actor else { return }
        guard store.exists(name) else { throw ScionError(.notFound, "no agent named \(name) in grove \(grove.root)") }
        try authority.requireDescendant(name, lineage: lineage, to: "merge", journal: journal(actor))
        try authority.requireOwnWorktree(checkout, worktree: store.worktreePath(actor), to: "merge", journal: journal(actor))
    }

    /// Merges the agent's branch into the current checkout's branch. A
    /// conflict is an outcome (result `conflict`), not an error.
    public func merge(_ request: MergeRequest) throws -> MergeOutcome {
        let name = request.name
        try requireMergeAuthority(name, into: try currentCheckout().root)
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let subject = try reviewSubject(name)
        let checkout = subject.checkout
        let branch = subject.branch
        if checkout.branch == branch {
            throw ScionError(.failedPrecondition, "the checkout at \(checkout.root) is on branch \(branch), agent \(name)'s own: run `scion merge \(name)` in the checkout to merge it into")
        }
        if checkout.operationInProgress {
            let advice = FileManager.default.fileExists(atPath: mergeStatePath(name))
                ? "finish it (`git commit`) or undo it with `scion merge \(name) --abort`"
                : "finish or abort it with git first"
            throw ScionError(.failedPrecondition, "a merge or another git operation is in progress in \(checkout.root): \(advice)")
        }
        // The agent's uncommitted work would not come along: say so instead of half a merge.
        if FileManager.default.fileExists(atPath: subject.source.worktree),
           let count = WorktreeManager.uncommittedFiles(worktree: subject.source.worktree), count > 0 {
            let files = count == 1 ? "1 uncommitted file" : "\(count) uncommitted files"
            throw ScionError(.failedPrecondition, "agent \(name) has \(files) in its worktree, which a merge would leave out: commit them there (or ask the agent to), then merge again; `scion diff \(name)` shows them")
        }
        guard let tip = try subject.manager.branchWork(branch)?.tip else {
            throw ScionError(.notFound, "branch \(branch) of agent \(name) does not exist any more")
        }
        let head = checkout.head
        let base = try subject.manager.diffBase(branch: branch, head: head, recordedBase: subject.record.baseCommit)
        var outcome = MergeOutcome(agent: name, branch: branch, into: checkout.branch, result: .upToDate, commit: head, tip: tip)
        if base == tip { return outcome }
        // The user's own uncommitted changes that the merge would touch.
        let touched = try subject.manager.pathsChanged(branch: branch, since: base)
            .intersection(try checkout.uncommittedPaths()).sorted()
        if !touched.isEmpty {
            let list = touched.prefix(10).joined(separator: ", ") + (touched.count > 10 ? " and \(touched.count - 10) more" : "")
            throw ScionError(.wouldLoseWork, "merging \(name) would touch your uncommitted changes in \(list) (in \(checkout.root)): commit or stash them (`git stash`), then merge again")
        }
        if let head {
            let state = MergeState(checkout: checkout.root, head: head, squash: request.squash, startedAt: Date())
            try AtomicFile.write(try AgentStore.encoder.encode(state), to: mergeStatePath(name))
        }
        var argv = ["merge", "--no-edit"]
        if request.squash {
            argv.append("--squash")
        } else if let message = request.message {
            argv += ["-m", message]
        }
        argv.append(branch)
        let merged = try git(argv, in: checkout.root)
        outcome.output = merged.stdoutText
        if merged.status != 0 {
            let conflicts = checkout.conflictedPaths()
            guard conflicts.isEmpty else {
                outcome.result = .conflict
                outcome.conflicts = conflicts
                outcome.output += merged.stderrText
                return outcome
            }
            if checkout.head == head && !checkout.operationInProgress { try? FileManager.default.removeItem(atPath: mergeStatePath(name)) }
            throw ScionError(.internal, "git merge of \(branch) failed (exit \(merged.status)): \(Self.lastLines(merged.stderrText + merged.stdoutText))")
        }
        if request.squash, try git(["diff", "--cached", "--quiet"], in: checkout.root).status == 0 {
            // Its changes are all in the checkout already: nothing to commit.
            outcome.output += merged.stderrText
            try? FileManager.default.removeItem(atPath: mergeStatePath(name))
            return outcome
        }
        if request.squash {
            var commitArgv = ["commit", "--no-edit"]
            if let message = request.message { commitArgv = ["commit", "-m", message] }
            let committed = try git(commitArgv, in: checkout.root)
            outcome.output += committed.stdoutText
            guard committed.status == 0 else {
                throw ScionError(.internal, "the squashed changes of \(name) are staged in \(checkout.root), but git commit failed (exit \(committed.status)): \(Self.lastLines(committed.stderrText + committed.stdoutText)); commit them yourself, or undo with `scion merge \(name) --abort`")
            }
            outcome.result = .squash
        } else {
            outcome.result = checkout.head == tip ? .fastForward : .mergeCommit
        }
        outcome.commit = checkout.head
        try? FileManager.default.removeItem(atPath: mergeStatePath(name))
        return outcome
    }

    /// Undoes a merge of the agent that stopped on conflicts: HEAD, the
    /// index and the files the merge changed are as they were before it
    /// (`git merge --abort`, or `git reset --merge` after a squash, which
    /// leaves no MERGE_HEAD).
    public func abortMerge(_ name: String) throws -> MergeOutcome {
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let record = try store.load(name)
        guard let data = FileManager.default.contents(atPath: mergeStatePath(name)),
              let state = try? AgentStore.decoder.decode(MergeState.self, from: data) else {
            try requireMergeAuthority(name, into: try currentCheckout().root)
            throw ScionError(.failedPrecondition, "there is no merge of agent \(name) to abort")
        }
        try requireMergeAuthority(name, into: state.checkout)
        guard let checkout = Checkout(containing: state.checkout) else {
            throw ScionError(.notFound, "the checkout \(state.checkout) that agent \(name) was merged into is gone")
        }
        if checkout.head != state.head {
            try? FileManager.default.removeItem(atPath: mergeStatePath(name))
            throw ScionError(.failedPrecondition, "the merge of agent \(name) into \(state.checkout) was already committed (HEAD moved from \(state.head.prefix(12))); undo it with git, for example `git reset --keep \(state.head.prefix(12))`")
        }
        let undo = checkout.mergeInProgress ? ["merge", "--abort"] : ["reset", "--merge", state.head]
        let result = try git(undo, in: state.checkout)
        guard result.status == 0 else {
            throw ScionError(.internal, "git \(undo.joined(separator: " ")) failed in \(state.checkout) (exit \(result.status)): \(Self.lastLines(result.stderrText + result.stdoutText))")
        }
        try? FileManager.default.removeItem(atPath: mergeStatePath(name))
        return MergeOutcome(
            agent: name, branch: record.branch ?? name, into: checkout.branch, result: .aborted, commit: checkout.head,
            tip: nil, output: result.stdoutText)
    }

    /// The real git, by argv, in `directory`; it never opens an editor or a
    /// pager, and reads nothing from the terminal.
    func git(_ arguments: [String], in directory: String) throws -> Subprocess.Output {
        var environment = context.environment
        environment["GIT_MERGE_AUTOEDIT"] = "no"
        environment["GIT_EDITOR"] = "true"
        environment["GIT_PAGER"] = "cat"
        environment["GIT_TERMINAL_PROMPT"] = "0"
        do {
            return try Subprocess.run(["git", "-C", directory] + arguments, environment: environment)
        } catch {
            throw ScionError.wrap(error, "cannot run git")
        }
    }

    static func lastLines(_ text: String, count: Int = 3) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(count)
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " / ")
    }
}
