import CGit2
import Foundation

/// What an agent changed, through libgit2: its branch's commits and its
/// worktree's uncommitted (staged, modified, untracked) files, against a
/// base commit. libgit2 reads the agent's worktree as data: it runs no
/// filter driver, fsmonitor or hook an agent could have configured, and
/// it reads a symlink as a link, never through it.
public struct WorktreeDiff: Sendable {
    public enum Status: String, Sendable, Encodable {
        case added, modified, deleted, renamed, copied, typechange, untracked
    }

    public struct File: Sendable, Encodable, Equatable {
        public var path: String
        public var oldPath: String?
        public var status: Status
        public var additions: Int
        public var deletions: Int
        public var binary: Bool

        enum CodingKeys: String, CodingKey {
            case path, oldPath = "old_path", status, additions, deletions, binary
        }
    }

    /// One line of a patch as `git diff` prints it, with what it is.
    public enum LineKind: Sendable {
        case fileHeader, hunkHeader, context, addition, deletion, note
    }

    /// The commit the changes are measured from.
    public var base: String
    public var files: [File]
}

extension WorktreeManager {
    /// Where the agent's changes are read: its worktree, opened through the
    /// main repository by git's name for it (never through the `.git` file
    /// in the worktree, which the agent can rewrite), with the working
    /// folder scion made; or only its branch when the worktree is gone.
    public struct AgentSource: Sendable {
        public var worktreeName: String
        public var worktree: String
        public var branch: String

        public init(worktreeName: String, worktree: String, branch: String) {
            self.worktreeName = worktreeName
            self.worktree = worktree
            self.branch = branch
        }
    }

    /// The commit the agent's work is measured from: where its branch
    /// meets `head` (HEAD of the checkout the command runs in: what a merge
    /// there would bring in), or `recordedBase` when they share no history.
    public func diffBase(branch: String, head: String?, recordedBase: String?) throws -> String {
        try withRepository { repository in
            let tip = try branchTip(repository, branch)
            if let head {
                var headOid = git_oid()
                var base = git_oid()
                if git_oid_fromstr(&headOid, head) == 0 {
                    var tipOid = tip
                    if git_merge_base(&base, repository, &tipOid, &headOid) == 0 { return Self.hex(&base) }
                }
            }
            guard let recordedBase else {
                throw ScionError(.notFound, "branch \(branch) shares no history with HEAD and its agent has no recorded base commit")
            }
            return recordedBase
        }
    }

    /// The agent's changes against `base`, with per-file line counts;
    /// `patch`, when given, receives every line of the patch in order.
    public func diff(
        _ source: AgentSource, base: String, patch: ((WorktreeDiff.LineKind, String) -> Void)? = nil
    ) throws -> WorktreeDiff {
        try withRepository { main in
            var baseOid = git_oid()
            try check(git_oid_fromstr(&baseOid, base), "\(base) is not a commit id")
            var baseCommit: OpaquePointer?
            try check(git_commit_lookup(&baseCommit, main, &baseOid), "cannot find base commit \(base)")
            defer { git_commit_free(baseCommit) }
            var baseTree: OpaquePointer?
            try check(git_commit_tree(&baseTree, baseCommit), "cannot read the tree of \(base)")
            defer { git_tree_free(baseTree) }

            var options = git_diff_options()
            git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
            options.flags = GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue | GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
            var diff: OpaquePointer?
            // The diff reads its repository until it is freed.
            let worktreeRepository = openAgentWorktree(main, source)
            defer { git_repository_free(worktreeRepository) }
            if let worktreeRepository {
                try check(git_diff_tree_to_workdir_with_index(&diff, worktreeRepository, baseTree, &options),
                          "cannot compare the worktree of branch \(source.branch) with \(base)")
            } else {
                // No worktree to read (deleted by hand): the branch's commits only.
                var tipOid = try branchTip(main, source.branch)
                var tipCommit: OpaquePointer?
                try check(git_commit_lookup(&tipCommit, main, &tipOid), "cannot read the tip of branch \(source.branch)")
                defer { git_commit_free(tipCommit) }
                var tipTree: OpaquePointer?
                try check(git_commit_tree(&tipTree, tipCommit), "cannot read the tree of branch \(source.branch)")
                defer { git_tree_free(tipTree) }
                try check(git_diff_tree_to_tree(&diff, main, baseTree, tipTree, &options),
                          "cannot compare branch \(source.branch) with \(base)")
            }
            defer { git_diff_free(diff) }
            var similar = git_diff_find_options()
            git_diff_find_options_init(&similar, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION))
            similar.flags = GIT_DIFF_FIND_RENAMES.rawValue
            _ = git_diff_find_similar(diff, &similar)
            return WorktreeDiff(base: base, files: try Self.files(of: diff, patch: patch))
        }
    }

    /// The paths a merge of `branch` into the checkout would change: those
    /// changed between their merge base and the branch's tip.
    public func pathsChanged(branch: String, since base: String) throws -> Set<String> {
        try withRepository { repository in
            var baseOid = git_oid()
            try check(git_oid_fromstr(&baseOid, base), "\(base) is not a commit id")
            var tipOid = try branchTip(repository, branch)
            func tree(_ oid: inout git_oid) throws -> OpaquePointer? {
                var commit: OpaquePointer?
                try check(git_commit_lookup(&commit, repository, &oid), "cannot read commit \(Self.hex(&oid))")
                defer { git_commit_free(commit) }
                var tree: OpaquePointer?
                try check(git_commit_tree(&tree, commit), "cannot read the tree of \(Self.hex(&oid))")
                return tree
            }
            let old = try tree(&baseOid)
            defer { git_tree_free(old) }
            let new = try tree(&tipOid)
            defer { git_tree_free(new) }
            var diff: OpaquePointer?
            try check(git_diff_tree_to_tree(&diff, repository, old, new, nil), "cannot compare branch \(branch) with \(base)")
            defer { git_diff_free(diff) }
            var paths: Set<String> = []
            for index in 0..<git_diff_num_deltas(diff) {
                guard let delta = git_diff_get_delta(diff, index) else { continue }
                if let path = delta.pointee.old_file.path { paths.insert(String(cString: path)) }
                if let path = delta.pointee.new_file.path { paths.insert(String(cString: path)) }
            }
            return paths
        }
    }

    /// The tip commit of local `branch`.
    func branchTip(_ repository: OpaquePointer?, _ branch: String) throws -> git_oid {
        var oid = git_oid()
        try check(git_reference_name_to_id(&oid, repository, "refs/heads/" + branch),
                  "cannot find branch \(branch)")
        return oid
    }

    /// The agent's worktree as a repository whose working folder is the
    /// one scion made; nil when it cannot be opened (gone, or no folder).
    func openAgentWorktree(_ main: OpaquePointer?, _ source: AgentSource) -> OpaquePointer? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.worktree, isDirectory: &isDirectory), isDirectory.boolValue
        else { return nil }
        var worktree: OpaquePointer?
        guard git_worktree_lookup(&worktree, main, source.worktreeName) == 0 else { return nil }
        defer { git_worktree_free(worktree) }
        var repository: OpaquePointer?
        guard git_repository_open_from_worktree(&repository, worktree) == 0 else { return nil }
        guard git_repository_set_workdir(repository, source.worktree, 0) == 0 else {
            git_repository_free(repository)
            return nil
        }
        return repository
    }

    private static func files(of diff: OpaquePointer?, patch: ((WorktreeDiff.LineKind, String) -> Void)?) throws -> [WorktreeDiff.File] {
        var files: [WorktreeDiff.File] = []
        let count = git_diff_num_deltas(diff)
        files.reserveCapacity(count)
        for index in 0..<count {
            var patchObject: OpaquePointer?
            guard git_patch_from_diff(&patchObject, diff, index) == 0 else { continue }
            defer { git_patch_free(patchObject) }
            guard let delta = git_patch_get_delta(patchObject) else { continue }
            var additions = 0
            var deletions = 0
            var context = 0
            git_patch_line_stats(&context, &additions, &deletions, patchObject)
            let newPath = delta.pointee.new_file.path.map { String(cString: $0) } ?? ""
            let oldPath = delta.pointee.old_file.path.map { String(cString: $0) }
            let status = Self.status(delta.pointee.status)
            files.append(WorktreeDiff.File(
                path: newPath.isEmpty ? (oldPath ?? "") : newPath,
                oldPath: status == .renamed || status == .copied ? oldPath : nil,
                status: status, additions: additions, deletions: deletions,
                binary: (delta.pointee.flags & GIT_DIFF_FLAG_BINARY.rawValue) != 0))
            if let patch { print(patchObject, to: patch) }
        }
        return files
    }

    private static func print(_ patchObject: OpaquePointer?, to sink: (WorktreeDiff.LineKind, String) -> Void) {
        typealias Sink = (WorktreeDiff.LineKind, String) -> Void
        withoutActuallyEscaping(sink) { sink in
            var box = sink
            withUnsafeMutablePointer(to: &box) { pointer in
                _ = git_patch_print(patchObject, { _, _, line, payload in
                    guard let line, let payload else { return 0 }
                    let sink = payload.assumingMemoryBound(to: Sink.self).pointee
                    let bytes = UnsafeRawBufferPointer(start: line.pointee.content, count: line.pointee.content_len)
                    let text = String(decoding: bytes, as: UTF8.self)
                    let origin = UInt8(bitPattern: line.pointee.origin)
                    switch origin {
                    case UInt8(ascii: "+"): sink(.addition, "+" + text)
                    case UInt8(ascii: "-"): sink(.deletion, "-" + text)
                    case UInt8(ascii: " "): sink(.context, " " + text)
                    case UInt8(ascii: "F"): sink(.fileHeader, text)
                    case UInt8(ascii: "H"): sink(.hunkHeader, text)
                    default: sink(.note, text)
                    }
                    return 0
                }, pointer)
            }
        }
    }

    private static func status(_ status: git_delta_t) -> WorktreeDiff.Status {
        switch status {
        case GIT_DELTA_ADDED: return .added
        case GIT_DELTA_DELETED: return .deleted
        case GIT_DELTA_RENAMED: return .renamed
        case GIT_DELTA_COPIED: return .copied
        case GIT_DELTA_TYPECHANGE: return .typechange
        case GIT_DELTA_UNTRACKED: return .untracked
        default: return .modified
        }
    }

    static func hex(_ oid: inout git_oid) -> String {
        withUnsafePointer(to: &oid) { hex($0) }
    }
}
