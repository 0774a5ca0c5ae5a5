import CGit2
import Foundation

/// Git worktrees for agents, through libgit2: each agent gets a worktree on
/// its own branch; delete removes both.
public struct WorktreeManager: Sendable {
    public struct Created: Sendable {
        public var branch: String
        /// False when the branch existed before and was reused.
        public var createdBranch: Bool
    }

    private static let initialized: Bool = {
        git_libgit2_init()
        return true
    }()

    public let repositoryPath: String

    private static let backgroundInitialization = DispatchGroup()

    /// Starts libgit2's one-time initialization (it parses the system's CA
    /// bundle: a few milliseconds) on another thread, so it overlaps with
    /// settings and plugin loading instead of adding to them. The process
    /// must call `finishBackgroundInitialization()` before it exits: exiting
    /// while libgit2 initializes crashes.
    public static func initializeInBackground() {
        backgroundInitialization.enter()
        Thread.detachNewThread {
            _ = initialized
            backgroundInitialization.leave()
        }
    }

    public static func finishBackgroundInitialization() {
        backgroundInitialization.wait()
    }

    public init(repositoryPath: String) {
        _ = Self.initialized
        self.repositoryPath = repositoryPath
    }

    /// The top of the working tree containing `path`, or nil outside git.
    public static func repositoryRoot(containing path: String) -> String? {
        _ = initialized
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, path, 0, nil) == 0 else { return nil }
        defer { git_repository_free(repository) }
        guard let workdir = git_repository_workdir(repository) else { return nil }
        let root = String(cString: workdir)
        return root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    /// Adds a worktree at `path` named `name`, on `branch` (reused when it
    /// exists, otherwise created from `base` or HEAD).
    public func add(name: String, path: String, branch: String, base: String?) throws -> Created {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try withRepository { repository in
            try pruneStale(repository, name: name)
            var reference: OpaquePointer?
            var createdBranch = false
            if git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) != 0 {
                var object: OpaquePointer?
                try check(git_revparse_single(&object, repository, base ?? "HEAD"),
                          "cannot find \(base.map { "base \"\($0)\"" } ?? "HEAD (does the repository have a commit yet?)")")
                defer { git_object_free(object) }
                var commit: OpaquePointer?
                try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "\(base ?? "HEAD") is not a commit")
                defer { git_object_free(commit) }
                try check(git_branch_create(&reference, repository, branch, commit, 0), "cannot create branch \(branch)")
                createdBranch = true
            } else if git_branch_is_checked_out(reference) == 1 {
                git_reference_free(reference)
                throw ScionError(.alreadyExists, "branch \(branch) is already checked out in another worktree; choose another with --branch")
            }
            defer { git_reference_free(reference) }
            var options = git_worktree_add_options()
            git_worktree_add_options_init(&options, UInt32(GIT_WORKTREE_ADD_OPTIONS_VERSION))
            options.ref = reference
            var worktree: OpaquePointer?
            let status = git_worktree_add(&worktree, repository, name, path, &options)
            if status != 0 {
                let error = gitError(status, "cannot add worktree \(path)")
                if createdBranch { deleteBranch(repository, branch) }
                throw error
            }
            git_worktree_free(worktree)
            return Created(branch: branch, createdBranch: createdBranch)
        }
    }

    /// Removes the worktree (its folder and git's record of it) and,
    /// when asked, its branch.
    public func remove(name: String, path: String, branch: String?) throws {
        try withRepository { repository in
            var worktree: OpaquePointer?
            if git_worktree_lookup(&worktree, repository, name) == 0 {
                defer { git_worktree_free(worktree) }
                var options = git_worktree_prune_options()
                git_worktree_prune_options_init(&options, UInt32(GIT_WORKTREE_PRUNE_OPTIONS_VERSION))
                options.flags = GIT_WORKTREE_PRUNE_VALID.rawValue | GIT_WORKTREE_PRUNE_WORKING_TREE.rawValue
                    | GIT_WORKTREE_PRUNE_LOCKED.rawValue
                try check(git_worktree_prune(worktree, &options), "cannot remove worktree \(path)")
            }
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
            if let branch {
                deleteBranch(repository, branch)
            }
        }
    }

    public func branchExists(_ branch: String) -> Bool {
        (try? withRepository { repository -> Bool in
            var reference: OpaquePointer?
            guard git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) == 0 else { return false }
            git_reference_free(reference)
            return true
        }) ?? false
    }

    /// The user's git identity from their git configuration, if set.
    public func identity() -> (name: String, email: String)? {
        try? withRepository { repository -> (String, String)? in
            var config: OpaquePointer?
            guard git_repository_config_snapshot(&config, repository) == 0 else { return nil }
            defer { git_config_free(config) }
            func value(_ key: String) -> String? {
                var buffer: UnsafePointer<CChar>?
                guard git_config_get_string(&buffer, config, key) == 0, let buffer else { return nil }
                return String(cString: buffer)
            }
            guard let name = value("user.name"), let email = value("user.email") else { return nil }
            return (name, email)
        }
    }

    /// The repository's common git directory (the main `.git`).
    public func commonDirectory() throws -> String {
        try withRepository { repository in
            let path = String(cString: git_repository_commondir(repository))
            return path.hasSuffix("/") ? String(path.dropLast()) : path
        }
    }

    private func deleteBranch(_ repository: OpaquePointer?, _ branch: String) {
        var reference: OpaquePointer?
        guard git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) == 0 else { return }
        git_branch_delete(reference)
        git_reference_free(reference)
    }

    /// A worktree entry whose folder is gone would block a new one of the same name.
    private func pruneStale(_ repository: OpaquePointer?, name: String) throws {
        var worktree: OpaquePointer?
        guard git_worktree_lookup(&worktree, repository, name) == 0 else { return }
        defer { git_worktree_free(worktree) }
        var options = git_worktree_prune_options()
        git_worktree_prune_options_init(&options, UInt32(GIT_WORKTREE_PRUNE_OPTIONS_VERSION))
        if git_worktree_is_prunable(worktree, &options) == 1 {
            try check(git_worktree_prune(worktree, &options), "cannot prune stale worktree \(name)")
        }
    }

    private func withRepository<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var repository: OpaquePointer?
        try check(git_repository_open(&repository, repositoryPath), "cannot open git repository \(repositoryPath)")
        defer { git_repository_free(repository) }
        return try body(repository)
    }

    private func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        guard status == 0 else { throw gitError(status, context()) }
    }

    private func gitError(_ status: Int32, _ context: String) -> ScionError {
        let detail = git_error_last().map { String(cString: $0.pointee.message) } ?? "libgit2 error \(status)"
        let code: ScionError.Code = status == GIT_EEXISTS.rawValue ? .alreadyExists : (status == GIT_ENOTFOUND.rawValue ? .notFound : .internal)
        return ScionError(code, "\(context): \(detail)")
    }
}
