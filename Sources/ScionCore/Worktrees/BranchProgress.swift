import CGit2
import Foundation

/// How far an agent's branch is from its base, and whether its worktree
/// holds uncommitted work: `scion list`'s AHEAD/BEHIND and dirty mark.
public struct BranchProgress: Sendable, Equatable {
    /// Commits on the branch that its base does not have.
    public var ahead: Int?
    /// Commits on the base that the branch does not have.
    public var behind: Int?
    /// Staged, modified or untracked (not ignored) files in the worktree.
    public var dirty: Bool?

    public init(ahead: Int? = nil, behind: Int? = nil, dirty: Bool? = nil) {
        self.ahead = ahead
        self.behind = behind
        self.dirty = dirty
    }
}

extension WorktreeManager {
    public struct ProgressQuery: Sendable {
        public var source: AgentSource
        /// `base_ref`: a local branch other than the agent's own is compared at its tip today.
        public var baseRef: String?
        /// `base_commit`: the base otherwise.
        public var baseCommit: String?

        public init(source: AgentSource, baseRef: String?, baseCommit: String?) {
            self.source = source
            self.baseRef = baseRef
            self.baseCommit = baseCommit
        }
    }

    /// Each query's progress; a query whose branch or base cannot be read
    /// gets nil counts. The queries are split among the machine's cores,
    /// each part with the repository opened once (a libgit2 repository is
    /// not shared between threads): the dirty check reads every worktree.
    public func progress(_ queries: [ProgressQuery]) -> [BranchProgress] {
        let width = min(ProcessInfo.processInfo.activeProcessorCount, 4, max(1, queries.count / 8))
        guard width > 1 else { return progressInOneRepository(queries) }
        let size = (queries.count + width - 1) / width
        let parts = stride(from: 0, to: queries.count, by: size).map { Array(queries[$0..<min($0 + size, queries.count)]) }
        return Blocking.map(parts, width: parts.count) { part in progressInOneRepository(part) }.flatMap { $0 }
    }

    private func progressInOneRepository(_ queries: [ProgressQuery]) -> [BranchProgress] {
        (try? withRepository { repository in
            queries.map { query in
                var progress = BranchProgress()
                if var tip = try? branchTip(repository, query.source.branch), var base = baseOid(repository, query) {
                    var ahead = 0
                    var behind = 0
                    if git_graph_ahead_behind(&ahead, &behind, repository, &tip, &base) == 0 {
                        progress.ahead = ahead
                        progress.behind = behind
                    }
                }
                progress.dirty = isDirty(repository, query.source)
                return progress
            }
        }) ?? queries.map { _ in BranchProgress() }
    }

    private func baseOid(_ repository: OpaquePointer?, _ query: ProgressQuery) -> git_oid? {
        var oid = git_oid()
        if let ref = query.baseRef, ref != query.source.branch, ref != "HEAD",
           git_reference_name_to_id(&oid, repository, "refs/heads/" + ref) == 0 {
            return oid
        }
        if let commit = query.baseCommit, git_oid_fromstr(&oid, commit) == 0 { return oid }
        return nil
    }

    /// True at the first uncommitted file; nil when the worktree cannot be read.
    private func isDirty(_ main: OpaquePointer?, _ source: AgentSource) -> Bool? {
        guard let repository = openAgentWorktree(main, source) else { return nil }
        defer { git_repository_free(repository) }
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
        var found = false
        let status = withUnsafeMutablePointer(to: &found) { pointer in
            git_status_foreach_ext(repository, &options, { _, _, payload in
                payload?.assumingMemoryBound(to: Bool.self).pointee = true
                return 1
            }, pointer)
        }
        return status == 0 || found ? found : nil
    }
}
