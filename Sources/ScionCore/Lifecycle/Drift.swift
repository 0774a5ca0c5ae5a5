import Foundation
import ScionPluginKit

/// Something about an agent that changed outside scion: the user deleted
/// its worktree folder, deleted or renamed its branch, or moved the
/// repository. `list` shows it, `doctor` reports it, `doctor --fix`
/// repairs what can be repaired.
public struct DriftProblem: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        case moved
        case worktreeMissing = "worktree_missing"
        case branchMissing = "branch_missing"
        case branchRenamed = "branch_renamed"
    }

    public var agent: String
    public var kind: Kind
    public var message: String
    public var fixable: Bool
}

/// The repository facts drift checks need, read once per command: branch
/// existence from the ref files (no libgit2 open per agent, so `list` stays
/// cheap) and the worktree admin entries.
struct RepositoryView {
    let admin: WorktreeAdmin
    let packedRefs: Set<String>

    init?(grove: Grove) {
        guard let admin = WorktreeAdmin(grove: grove) else { return nil }
        self.admin = admin
        let packed = (try? String(contentsOfFile: admin.commonDirectory + "/packed-refs", encoding: .utf8)) ?? ""
        packedRefs = Set(packed.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.count == 2 && !line.hasPrefix("#") && !line.hasPrefix("^") ? String(parts[1]) : nil
        })
    }

    func branchExists(_ branch: String) -> Bool {
        let reference = "refs/heads/" + branch
        return packedRefs.contains(reference) || FileManager.default.fileExists(atPath: admin.commonDirectory + "/" + reference)
    }
}

extension Orchestrator {
    /// The drift of one agent (none for agents outside git or still being created).
    func driftProblems(_ record: AgentRecord, repository: RepositoryView?) -> [DriftProblem] {
        guard let repository, record.phase != .provisioning else { return [] }
        var problems: [DriftProblem] = []
        let name = record.name
        let worktree = store.worktreePath(name)
        if record.worktree != worktree,
           Grove.canonicalPath(record.worktree) != Grove.canonicalPath(worktree) {
            let old = (((record.worktree as NSString).deletingLastPathComponent as NSString)
                .deletingLastPathComponent as NSString).deletingLastPathComponent
            problems.append(DriftProblem(
                agent: name, kind: .moved,
                message: "the repository moved from \((old as NSString).deletingLastPathComponent): `scion doctor --fix` updates the agent's paths",
                fixable: true))
        }
        guard let branch = record.branch else { return problems }
        let branchExists = repository.branchExists(branch)
        if !FileManager.default.fileExists(atPath: worktree) {
            problems.append(DriftProblem(
                agent: name, kind: .worktreeMissing,
                message: branchExists
                    ? "its worktree folder is gone: `scion doctor --fix` recreates it on branch \(branch)"
                    : "its worktree folder is gone, and so is its branch \(branch): delete the agent",
                fixable: branchExists))
        }
        if !branchExists {
            let head = repository.admin.branch(worktreeName(of: record))
            if let head, head != branch, repository.branchExists(head) {
                problems.append(DriftProblem(
                    agent: name, kind: .branchRenamed,
                    message: "its branch \(branch) was renamed to \(head): `scion doctor --fix` records the new name (delete then keeps it)",
                    fixable: true))
            } else {
                problems.append(DriftProblem(
                    agent: name, kind: .branchMissing,
                    message: "its branch \(branch) no longer exists: recreate it (its last commits are in `git reflog`) or delete the agent",
                    fixable: false))
            }
        }
        return problems
    }

    /// Every agent's drift.
    public func drift() -> [DriftProblem] {
        let repository = RepositoryView(grove: grove)
        return store.all().compactMap(\.record).flatMap { driftProblems($0, repository: repository) }
    }

    /// Repairs one problem under the agent's lock; returns what it did.
    public func repair(_ problem: DriftProblem) throws -> String {
        guard problem.fixable else {
            throw ScionError(.failedPrecondition, "agent \(problem.agent): \(problem.message)")
        }
        let lock = try store.lock(problem.agent)
        defer { withExtendedLifetime(lock) {} }
        var record = try store.load(problem.agent)
        switch problem.kind {
        case .moved:
            try reconciler.relinkWorktree(record)
            record.worktree = store.worktreePath(record.name)
            record.home = store.homePath(record.name)
            try store.save(record)
            let running = record.phase == .running ? "; it still runs on the old paths: stop and resume it" : ""
            return "updated agent \(record.name)'s paths to \(store.directory(record.name))\(running)"
        case .worktreeMissing:
            guard let branch = record.branch, let repository = WorktreeManager.repositoryRoot(containing: grove.root),
                  let admin = WorktreeAdmin(grove: grove)
            else { throw ScionError(.failedPrecondition, "agent \(record.name) has no branch to recreate its worktree on") }
            let name = worktreeName(of: record)
            try withGroveLock {
                // The entry of the vanished folder only; nothing else of it is left.
                if admin.exists(name) { try admin.remove(name) }
                _ = try WorktreeManager(repositoryPath: repository).add(
                    name: name, path: store.worktreePath(record.name), branch: branch, base: nil)
            }
            record.worktree = store.worktreePath(record.name)
            try store.save(record)
            return "recreated agent \(record.name)'s worktree on branch \(branch)"
        case .branchRenamed:
            guard let admin = WorktreeAdmin(grove: grove), let head = admin.branch(worktreeName(of: record)) else {
                throw ScionError(.failedPrecondition, "agent \(record.name)'s worktree no longer names a branch")
            }
            let old = record.branch ?? "-"
            record.branch = head
            // The user renamed it: it is theirs now, and delete keeps it.
            record.createdBranch = false
            try store.save(record)
            return "recorded agent \(record.name)'s branch as \(head) (was \(old)); delete will keep it"
        case .branchMissing:
            throw ScionError(.failedPrecondition, "agent \(problem.agent): \(problem.message)")
        }
    }
}
