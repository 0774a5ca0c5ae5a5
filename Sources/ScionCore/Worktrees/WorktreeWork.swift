import CGit2
import Foundation

/// What a branch and a worktree hold that exists nowhere else, through
/// libgit2: the input of the deletion policy.
extension WorktreeManager {
    public struct BranchWork: Sendable, Equatable {
        /// The branch tip, in full.
        public var tip: String
        /// The tip abbreviated as git would (at least 7 digits, unique).
        public var shortTip: String
        /// Commits reachable from the branch and from no other ref (local
        /// branches, tags, remote-tracking branches, the main HEAD).
        public var unmergedCommits: Int
    }

    /// The branch's tip and its commits that no other ref reaches; nil when
    /// the branch does not exist.
    public func branchWork(_ branch: String) throws -> BranchWork? {
        try withRepository { repository -> BranchWork? in
            var reference: OpaquePointer?
            guard git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) == 0 else { return nil }
            defer { git_reference_free(reference) }
            let ownName = String(cString: git_reference_name(reference))
            var tipObject: OpaquePointer?
            try check(git_reference_peel(&tipObject, reference, GIT_OBJECT_COMMIT), "cannot read the tip of branch \(branch)")
            defer { git_object_free(tipObject) }
            let tip = git_object_id(tipObject)!
            var shortBuffer = git_buf()
            defer { git_buf_dispose(&shortBuffer) }
            let shortTip = git_object_short_id(&shortBuffer, tipObject) == 0 && shortBuffer.ptr != nil
                ? String(cString: shortBuffer.ptr) : String(Self.hex(tip).prefix(7))

            var walk: OpaquePointer?
            try check(git_revwalk_new(&walk, repository), "cannot walk the history of \(branch)")
            defer { git_revwalk_free(walk) }
            try check(git_revwalk_push(walk, tip), "cannot walk the history of \(branch)")
            for other in otherRefTips(repository, excluding: ownName) {
                var oid = other
                _ = git_revwalk_hide(walk, &oid)
            }
            var count = 0
            var oid = git_oid()
            while git_revwalk_next(&oid, walk) == 0 { count += 1 }
            return BranchWork(tip: Self.hex(tip), shortTip: shortTip, unmergedCommits: count)
        }
    }

    /// The commit of every ref but `excluding`, and of the main HEAD when it
    /// is detached or on another branch.
    private func otherRefTips(_ repository: OpaquePointer?, excluding ownName: String) -> [git_oid] {
        var tips: [git_oid] = []
        func add(_ reference: OpaquePointer?) {
            var object: OpaquePointer?
            guard git_reference_peel(&object, reference, GIT_OBJECT_COMMIT) == 0 else { return }
            tips.append(git_object_id(object)!.pointee)
            git_object_free(object)
        }
        var iterator: OpaquePointer?
        if git_reference_iterator_new(&iterator, repository) == 0 {
            var reference: OpaquePointer?
            while git_reference_next(&reference, iterator) == 0 {
                let name = String(cString: git_reference_name(reference))
                // A symbolic ref (origin/HEAD) that resolves to the branch itself does not count.
                var resolved: OpaquePointer?
                let resolvesToOwn = git_reference_resolve(&resolved, reference) == 0
                    && String(cString: git_reference_name(resolved)) == ownName
                git_reference_free(resolved)
                if name != ownName && !resolvesToOwn { add(reference) }
                git_reference_free(reference)
            }
            git_reference_iterator_free(iterator)
        }
        var head: OpaquePointer?
        if git_repository_head(&head, repository) == 0 {
            if String(cString: git_reference_name(head)) != ownName { add(head) }
            git_reference_free(head)
        }
        return tips
    }

    /// Files in the worktree at `path` that are modified, staged, deleted or
    /// untracked (ignored files do not count); nil when `path` is not a git
    /// worktree any more (its `.git` is gone or broken).
    public static func uncommittedFiles(worktree path: String) -> Int? {
        _ = WorktreeManager(repositoryPath: path)
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else { return nil }
        defer { git_repository_free(repository) }
        // The working folder is the one scion made, whatever the worktree's
        // `gitdir` record (writable by the agent) says.
        // Only when it differs: libgit2 1.5 leaks the path it built when
        // the working folder is already that one (valgrind, on every delete).
        let current = git_repository_workdir(repository).map { String(cString: $0) }
        if current.map({ ($0.hasSuffix("/") ? String($0.dropLast()) : $0) != (path.hasSuffix("/") ? String(path.dropLast()) : path) }) ?? true {
            guard git_repository_set_workdir(repository, path, 0) == 0 else { return nil }
        }
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
        var list: OpaquePointer?
        guard git_status_list_new(&list, repository, &options) == 0 else { return nil }
        defer { git_status_list_free(list) }
        return git_status_list_entrycount(list)
    }
}
