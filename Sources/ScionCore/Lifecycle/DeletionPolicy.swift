import Foundation

/// What deleting an agent would throw away, and the sentences that say so.
public struct WorkAtRisk: Sendable, Encodable, Equatable {
    public var agent: String
    public var branch: String?
    /// What the branch started from (`base_ref` of the record), for the message.
    public var baseRef: String?
    public var tip: String?
    public var shortTip: String?
    /// True when the delete removes the branch (scion created it and it is not preserved).
    public var deletesBranch: Bool
    /// Commits on the branch that no other ref reaches; counted only when
    /// the branch is deleted (a kept branch keeps them).
    public var unmergedCommits: Int
    /// Modified, staged, deleted and untracked (not ignored) files in the worktree.
    public var uncommittedFiles: Int
    /// The worktree holds files but is no git worktree any more, so they cannot be checked.
    public var worktreeUnreadable: Bool

    public var losesWork: Bool { unmergedCommits > 0 || uncommittedFiles > 0 || worktreeUnreadable }

    /// "2 commits not in main and 1 uncommitted file".
    public var summary: String {
        var parts: [String] = []
        if unmergedCommits > 0 {
            let commits = unmergedCommits == 1 ? "1 commit" : "\(unmergedCommits) commits"
            if let baseRef, baseRef != branch, baseRef != "HEAD" {
                parts.append("\(commits) not in \(baseRef)")
            } else {
                parts.append("\(commits) on no other branch")
            }
        }
        if uncommittedFiles > 0 {
            parts.append(uncommittedFiles == 1 ? "1 uncommitted file" : "\(uncommittedFiles) uncommitted files")
        }
        if worktreeUnreadable { parts.append("files in a worktree that git no longer recognizes") }
        return parts.joined(separator: " and ")
    }

    /// The tip, said the way the user can act on it.
    var tipClause: String? {
        guard let branch, let shortTip else { return nil }
        return deletesBranch ? "its branch tip is \(shortTip)" : "its branch \(branch) is kept, at \(shortTip)"
    }

    /// The refusal: what would be lost, how to keep it, how to delete anyway.
    public var refusal: String {
        let keep: String
        switch (unmergedCommits > 0, uncommittedFiles > 0 || worktreeUnreadable) {
        case (true, true): keep = "commit and merge them"
        case (true, false): keep = unmergedCommits == 1 ? "merge it" : "merge them"
        default: keep = uncommittedFiles == 1 ? "commit it" : "commit them"
        }
        return "\(agent) has \(summary); \(keep), or delete with --force" + (tipClause.map { " (\($0))" } ?? "")
    }

    /// The question on a terminal.
    public var question: String {
        "\(agent) has \(summary)" + (tipClause.map { " (\($0))" } ?? "") + "; delete anyway? [y/N] "
    }

    /// `git branch <name> <sha>`: brings the discarded commits back.
    public var recovery: String? {
        guard deletesBranch, let branch, let tip else { return nil }
        return "git branch \(branch) \(tip)"
    }

    enum CodingKeys: String, CodingKey {
        case agent = "name", branch, baseRef = "base_ref", tip, deletesBranch = "branch_deleted"
        case unmergedCommits = "commits", uncommittedFiles = "uncommitted_files"
        case worktreeUnreadable = "worktree_unreadable", recovery
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agent, forKey: .agent)
        try container.encodeIfPresent(branch, forKey: .branch)
        try container.encodeIfPresent(baseRef, forKey: .baseRef)
        try container.encodeIfPresent(tip, forKey: .tip)
        try container.encode(deletesBranch, forKey: .deletesBranch)
        try container.encode(unmergedCommits, forKey: .unmergedCommits)
        try container.encode(uncommittedFiles, forKey: .uncommittedFiles)
        try container.encode(worktreeUnreadable, forKey: .worktreeUnreadable)
        try container.encodeIfPresent(recovery, forKey: .recovery)
    }
}

/// How a delete may proceed.
public struct DeleteOptions: Sendable {
    /// Keep the agent's branch (its commits are then safe).
    public var preserveBranch: Bool
    /// Delete even if work would be lost (the tip SHA is still reported).
    public var force: Bool
    /// Delete the agent's descendants first (deepest first); without it an
    /// agent with children is refused.
    public var cascade: Bool
    /// Agents deleted by the same command: children among them do not keep
    /// their parent from going.
    public var together: Set<String>
    /// A branch tip whose commits the user accepted another way (`merge
    /// --squash --delete` put their changes in a commit of their own): while
    /// the branch is still at this tip, its commits are not work at risk.
    public var acceptedTip: String?

    public init(
        preserveBranch: Bool = false, force: Bool = false, cascade: Bool = false, together: Set<String> = [],
        acceptedTip: String? = nil
    ) {
        self.preserveBranch = preserveBranch
        self.force = force
        self.cascade = cascade
        self.together = together
        self.acceptedTip = acceptedTip
    }
}

/// What a delete did.
public struct DeleteOutcome: Sendable, Encodable {
    public var name: String
    /// The work the delete threw away, when there was any.
    public var discarded: WorkAtRisk?
    public var branch: String?
    public var branchDeleted: Bool

    enum CodingKeys: String, CodingKey {
        case name, discarded, branch, branchDeleted = "branch_deleted"
    }
}

/// The one deletion policy: a branch goes only if scion created it and it
/// is not preserved; unmerged commits on such a branch, and uncommitted or
/// untracked files in the worktree, are deleted only when forced or
/// confirmed; what is thrown away is reported with the branch tip. It
/// removes only what scion made, at paths it computes itself.
struct DeletionPolicy {
    let orchestrator: Orchestrator
    let name: String
    let record: AgentRecord?
    let options: DeleteOptions

    private var store: AgentStore { orchestrator.store }

    /// The grove's git repository, unless the grove has none (the global grove).
    private var repository: String? {
        guard !orchestrator.grove.isGlobal else { return nil }
        return WorktreeManager.repositoryRoot(containing: orchestrator.grove.root)
    }

    /// The branch this delete removes: only one scion created, and not preserved.
    var branchToDelete: String? {
        guard !options.preserveBranch, let record, record.createdBranch else { return nil }
        return record.branch
    }

    /// What deleting now would throw away.
    func assess() throws -> WorkAtRisk {
        let worktree = store.worktreePath(name)
        var risk = WorkAtRisk(
            agent: name, branch: record?.branch, baseRef: record?.baseRef, deletesBranch: branchToDelete != nil,
            unmergedCommits: 0, uncommittedFiles: 0, worktreeUnreadable: false)
        if let repository {
            if let branch = record?.branch, let work = try WorktreeManager(repositoryPath: repository).branchWork(branch) {
                risk.tip = work.tip
                risk.shortTip = work.shortTip
                if risk.deletesBranch && work.tip != options.acceptedTip { risk.unmergedCommits = work.unmergedCommits }
            } else {
                risk.deletesBranch = false
            }
            // A delete killed part-way already weighed this work; a worktree
            // scion was still checking out was never anyone's to change.
            if record?.deletionStartedAt != nil {
                risk.unmergedCommits = 0
                return risk
            }
            if record?.phase != .provisioning, Self.holdsFiles(worktree) {
                if let count = WorktreeManager.uncommittedFiles(worktree: worktree) {
                    risk.uncommittedFiles = count
                } else {
                    risk.worktreeUnreadable = true
                }
            }
        } else {
            risk.uncommittedFiles = Self.countFiles(worktree)
        }
        return risk
    }

    /// Before anything is removed: the risk the caller accepted (nil when
    /// there was none). Throws `.wouldLoseWork` when work would be lost and
    /// the delete is neither forced nor confirmed.
    func authorize(confirm: (WorkAtRisk) -> Bool) throws -> WorkAtRisk? {
        let risk = try assess()
        guard risk.losesWork else { return nil }
        if options.force || confirm(risk) { return risk }
        throw ScionError(.wouldLoseWork, risk.refusal)
    }

    /// After the agent's process or container is gone (it could have
    /// committed until then): checks again, removes git's worktree record,
    /// the worktree and the branch, and reports what was thrown away.
    func removeWorkspace(accepted: WorkAtRisk?, confirm: (WorkAtRisk) -> Bool) throws -> DeleteOutcome {
        var risk = try assess()
        if risk.losesWork && accepted == nil && !options.force && !confirm(risk) {
            // The agent made work while we were looking: keep it, stopped.
            if var record, record.handle != nil {
                record.handle = nil
                record.phase = .stopped
                try? store.save(record)
            }
            throw ScionError(.wouldLoseWork, "\(risk.refusal); it was stopped")
        }
        let branch = risk.deletesBranch ? branchToDelete : nil
        var branchDeleted = false
        if var record, record.deletionStartedAt == nil {
            record.deletionStartedAt = Date()
            try store.save(record)
        }
        if let repository {
            let manager = WorktreeManager(repositoryPath: repository)
            // The worktree's files are this agent's alone: removing them
            // (many seconds for a large tree) does not hold the grove lock
            // that every start and every other delete waits for.
            if FileManager.default.fileExists(atPath: store.directory(name)) {
                try SafeRemoval(inside: store.directory(name)).remove(store.worktreePath(name))
            }
            try orchestrator.withGroveLock {
                // A start killed while git made the branch left its lock,
                // which would keep git from deleting or making it again.
                if let record, record.createdBranch, !options.preserveBranch, let created = record.branch {
                    try manager.removeStaleBranchLock(created)
                }
                try manager.remove(
                    name: record.map(orchestrator.worktreeName(of:)) ?? AgentName.worktreeName(name),
                    path: store.worktreePath(name), branch: branch,
                    within: store.directory(name))
            }
            if let branch {
                branchDeleted = !manager.branchExists(branch)
                if !branchDeleted {
                    // git refuses to delete a branch checked out elsewhere: its commits stay.
                    orchestrator.logger.warning("agent \(name): branch \(branch) is checked out elsewhere, so it was kept")
                    risk.deletesBranch = false
                    risk.unmergedCommits = 0
                }
            }
        }
        return DeleteOutcome(
            name: name, discarded: risk.losesWork ? risk : nil, branch: record?.branch, branchDeleted: branchDeleted)
    }

    /// True when `path` is a folder with anything in it.
    static func holdsFiles(_ path: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return false }
        return !entries.isEmpty
    }

    /// Files (and symlinks) under `path`, never following a symlink.
    static func countFiles(_ path: String, depth: Int = 0) -> Int {
        guard depth < 64, let entries = try? FileManager.default.contentsOfDirectory(atPath: path) else { return 0 }
        return entries.reduce(0) { count, entry in
            let child = path + "/" + entry
            let type = (try? FileManager.default.attributesOfItem(atPath: child))?[.type] as? FileAttributeType
            return count + (type == .typeDirectory ? countFiles(child, depth: depth + 1) : 1)
        }
    }
}
