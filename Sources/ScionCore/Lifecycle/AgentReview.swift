import Foundation

/// `scion diff`: what an agent changed (committed on its branch and not yet
/// committed in its worktree) against where its branch meets the checkout
/// the command runs in.
public struct AgentDiffReport: Sendable, Encodable {
    public var agent: String
    public var branch: String
    /// The commit the changes are measured from.
    public var base: String
    /// What the branch started from at create (`base_ref` of the record).
    public var baseRef: String?
    /// The branch checked out where the command ran (nil when detached).
    public var against: String?
    public var files: [WorktreeDiff.File]

    public var additions: Int { files.reduce(0) { $0 + $1.additions } }
    public var deletions: Int { files.reduce(0) { $0 + $1.deletions } }

    enum CodingKeys: String, CodingKey {
        case agent, branch, base, baseRef = "base_ref", against, files, additions, deletions
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agent, forKey: .agent)
        try container.encode(branch, forKey: .branch)
        try container.encode(base, forKey: .base)
        try container.encodeIfPresent(baseRef, forKey: .baseRef)
        try container.encodeIfPresent(against, forKey: .against)
        try container.encode(files, forKey: .files)
        try container.encode(additions, forKey: .additions)
        try container.encode(deletions, forKey: .deletions)
    }
}

/// An agent's branch and worktree, and the checkout the command works on.
struct ReviewSubject {
    var record: AgentRecord
    var branch: String
    var manager: WorktreeManager
    var source: WorktreeManager.AgentSource
    var checkout: Checkout
}

extension Orchestrator {
    /// The agent's changes against the checkout this command runs in;
    /// `patch` receives the patch's lines when given.
    public func diff(_ name: String, patch: ((WorktreeDiff.LineKind, String) -> Void)? = nil) throws -> AgentDiffReport {
        let subject = try reviewSubject(name)
        let base = try subject.manager.diffBase(
            branch: subject.branch, head: subject.checkout.head, recordedBase: subject.record.baseCommit)
        let diff = try subject.manager.diff(subject.source, base: base, patch: patch)
        return AgentDiffReport(
            agent: name, branch: subject.branch, base: base, baseRef: subject.record.baseRef,
            against: subject.checkout.branch, files: diff.files)
    }

    /// The checkout the command works on: the one it runs in when that is
    /// a checkout of the grove's repository (the user's, or an agent's
    /// worktree), else the grove's own.
    public func currentCheckout() throws -> Checkout {
        guard !grove.isGlobal, let main = Checkout(containing: grove.root) else {
            throw ScionError(.failedPrecondition, "grove \(grove.root) is not in a git repository, so its agents have no branches to compare or merge")
        }
        if let here = Checkout(containing: context.workingDirectory), here.sharesRepository(with: main.commonDirectory) {
            return here
        }
        return main
    }

    func reviewSubject(_ name: String) throws -> ReviewSubject {
        let record = try store.load(name)
        let checkout = try currentCheckout()
        guard let branch = record.branch else {
            throw ScionError(.failedPrecondition, "agent \(name) has no branch (its start was interrupted before it had one); delete it with `scion delete \(name)`")
        }
        let manager = WorktreeManager(repositoryPath: checkout.root)
        guard manager.branchExists(branch) else {
            throw ScionError(.notFound, "branch \(branch) of agent \(name) does not exist any more; `scion doctor` says more")
        }
        let source = WorktreeManager.AgentSource(
            worktreeName: worktreeName(of: record), worktree: store.worktreePath(name), branch: branch)
        return ReviewSubject(record: record, branch: branch, manager: manager, source: source, checkout: checkout)
    }
}
