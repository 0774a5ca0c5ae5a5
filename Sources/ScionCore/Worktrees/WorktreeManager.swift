import CGit2
import Foundation
import ScionPluginKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Git worktrees for agents, through libgit2: each agent gets a worktree on
/// its own branch; delete removes both.
public struct WorktreeManager: Sendable {
    public struct Created: Sendable {
        public var branch: String
        /// False when the branch existed before and was reused.
        public var createdBranch: Bool
        /// What the branch started from: the `--base` given, HEAD's branch
        /// (or `HEAD` when detached), or the reused branch itself.
        public var baseRef: String?
        /// The commit the branch pointed at when the worktree was made.
        public var baseCommit: String?
        /// The files still to be written (`add` with `checkingOut: false`).
        public var pendingCheckout: PendingCheckout?
    }

    /// The checkout of a worktree whose entry `add` made (`git reset -q
    /// --hard HEAD`, or libgit2's checkout without `git`): it touches only
    /// that worktree's files and index, so it needs no lock that other
    /// agents' starts wait for.
    public struct PendingCheckout: Sendable {
        let path: String
        let git: String?
        let parallel: Bool

        public func run() throws {
            if let git {
                try WorktreeManager.checkOut(path, git: git, parallel: parallel)
            } else {
                try WorktreeManager.checkOutWithLibgit2(path)
            }
        }
    }

    private static let initialized: Bool = {
        git_libgit2_init()
        libgit2Running.store(true, ordering: .releasing)
        return true
    }()

    private static let libgit2Running = Atomic<Bool>(false)

    public let repositoryPath: String

    private static let backgroundInitialization = DispatchGroup()
    private static let backgroundStarted = Atomic<Bool>(false)

    /// Starts libgit2's one-time initialization (it parses the system's CA
    /// bundle: a few milliseconds) on another thread, so it overlaps with
    /// settings and plugin loading instead of adding to them. The process
    /// must call `finishBackgroundInitialization()` before it exits: exiting
    /// while libgit2 initializes crashes.
    public static func initializeInBackground() {
        guard !backgroundStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        backgroundInitialization.enter()
        Thread.detachNewThread {
            _ = initialized
            backgroundInitialization.leave()
        }
    }

    public static func finishBackgroundInitialization() {
        backgroundInitialization.wait()
    }

    /// At exit: waits for the background initialization, then frees
    /// libgit2's global state (the caches a branch deletion fills, about
    /// 225 KB that valgrind reported still reachable after every delete).
    public static func shutdown() {
        finishBackgroundInitialization()
        if libgit2Running.exchange(false, ordering: .acquiringAndReleasing) { git_libgit2_shutdown() }
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
    /// exists, otherwise created from `base` or HEAD). With `checkingOut:
    /// false` git's checkout is left to the caller (`pendingCheckout`), who
    /// removes the worktree if it fails.
    public func add(name: String, path: String, branch: String, base: String?, checkingOut: Bool = true) throws -> Created {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try withRepository { repository in
            try pruneStale(repository, name: name)
            var reference: OpaquePointer?
            var createdBranch = false
            var baseRef: String? = branch
            if git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) != 0 {
                baseRef = base ?? headName(repository)
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
            let admin = WorktreeAdmin(commonDirectory: Self.trimmed(String(cString: git_repository_commondir(repository))))
            do {
                try admin.create(name, worktree: path, branch: branch)
            } catch {
                if createdBranch { deleteBranch(repository, branch) }
                throw error
            }
            let git = Self.gitForCheckout
            let checkout = PendingCheckout(
                path: path, git: git, parallel: git != nil && gitConfigValue(repository, Self.checkoutWorkersKey) == nil)
            if checkingOut {
                do {
                    try checkout.run()
                } catch {
                    try? remove(name: name, path: path, branch: createdBranch ? branch : nil)
                    throw error
                }
            }
            let baseCommit = git_reference_target(reference).map { Self.hex($0) }
            return Created(
                branch: branch, createdBranch: createdBranch, baseRef: baseRef, baseCommit: baseCommit,
                pendingCheckout: checkingOut ? nil : checkout)
        }
    }

    /// The git that checks out new worktrees: `git` on PATH, unless
    /// `SCION_CHECKOUT=libgit2` asks for libgit2's own checkout (or there is
    /// no git). git's checkout is about twice as fast as libgit2's (which
    /// resolves every path's parents with realpath(3) for attributes and
    /// checks each object three times), runs the user's filters (LFS,
    /// CRLF) as their own checkouts do, and writes the same index
    /// (docs/performance.md).
    static let gitForCheckout: String? = {
        if ProcessInfo.processInfo.environment["SCION_CHECKOUT"] == "libgit2" { return nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/git" }.first { access($0, X_OK) == 0 }
    }()

    /// git's setting for how many processes write a checkout's files.
    static let checkoutWorkersKey = "checkout.workers"

    /// Fills the new, empty worktree at `path` from its HEAD: the index and
    /// the files (`git reset --hard`, which runs no hook). The worktree is
    /// scion's own and the agent has not started yet. `parallel` (when the
    /// user's git config does not set `checkout.workers`) uses git's parallel
    /// checkout with one worker per core; git itself keeps checkouts of
    /// fewer than 100 files (`checkout.thresholdForParallelism`) sequential.
    static func checkOut(_ path: String, git: String, parallel: Bool) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        let workers = parallel ? ["-c", "\(checkoutWorkersKey)=0"] : []
        let output = try Subprocess.run([git, "-C", path] + workers + ["reset", "-q", "--hard", "HEAD"], environment: environment)
        guard output.status == 0 else {
            throw ScionError(.internal, "git could not check out the worktree \(path) (exit \(output.status)): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// libgit2's checkout of the new worktree's HEAD, with the options
    /// `git_worktree_add` would use (its index is empty, so every file is new).
    static func checkOutWithLibgit2(_ path: String) throws {
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else {
            throw gitError(-1, "cannot open the new worktree \(path)")
        }
        defer { git_repository_free(repository) }
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        let status = git_checkout_head(repository, &options)
        guard status == 0 else { throw gitError(status, "libgit2 could not check out the worktree \(path)") }
    }

    /// Removes the worktree (its folder and git's record of it) and,
    /// when asked, its branch. Nothing is read back from git's record to
    /// decide what to delete (its `gitdir` file is writable by the agent):
    /// the record's folder must be `<common dir>/worktrees/<name>`, and the
    /// worktree is removed at `path`, which must lie inside `boundary`,
    /// without following any symlink.
    public func remove(name: String, path: String, branch: String?, within boundary: String) throws {
        try withRepository { repository in
            if FileManager.default.fileExists(atPath: boundary) {
                try SafeRemoval(inside: boundary).remove(path)
            } else if !((path as NSString).standardizingPath + "/").hasPrefix((boundary as NSString).standardizingPath + "/")
                        || (path as NSString).standardizingPath == (boundary as NSString).standardizingPath {
                throw ScionError(.permissionDenied, "refusing to remove \(path): it is not inside \(boundary)")
            }
            try removeAdministrativeEntry(repository, name: name)
            if let branch {
                deleteBranch(repository, branch)
            }
        }
    }

    /// `remove(name:path:branch:within:)` inside the worktree's parent folder.
    public func remove(name: String, path: String, branch: String?) throws {
        try remove(name: name, path: path, branch: branch, within: (path as NSString).deletingLastPathComponent)
    }

    /// Removes git's record of worktree `name` (`<common dir>/worktrees/<name>`),
    /// after checking that the common dir is really this repository's own.
    private func removeAdministrativeEntry(_ repository: OpaquePointer?, name: String) throws {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw ScionError(.invalidArgument, "\"\(name)\" is not a worktree name")
        }
        let common = Self.trimmed(String(cString: git_repository_commondir(repository)))
        let gitDirectory = Self.trimmed(String(cString: git_repository_path(repository)))
        guard let resolvedCommon = SafeRemoval.resolve(common), let resolvedGit = SafeRemoval.resolve(gitDirectory) else {
            return
        }
        // The main repository's common dir is its git dir; a repository that
        // is itself a linked worktree lives in `<common>/worktrees/`. A common
        // dir anywhere else comes from a planted `commondir` file.
        guard resolvedGit == resolvedCommon || resolvedGit.hasPrefix(resolvedCommon + "/worktrees/") else {
            throw ScionError(.permissionDenied, "refusing to remove git's record of worktree \(name): the repository's common folder \(common) is not its own git folder \(gitDirectory); check \(gitDirectory)/commondir")
        }
        try SafeRemoval(inside: resolvedCommon).remove(resolvedCommon + "/worktrees/" + name)
    }

    private static func trimmed(_ path: String) -> String {
        path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    static func hex(_ oid: UnsafePointer<git_oid>) -> String {
        String(cString: git_oid_tostr_s(oid))
    }

    /// HEAD's branch name, `HEAD` when detached, nil when unborn.
    private func headName(_ repository: OpaquePointer?) -> String? {
        var head: OpaquePointer?
        guard git_repository_head(&head, repository) == 0 else { return nil }
        defer { git_reference_free(head) }
        return git_repository_head_detached(repository) == 1 ? "HEAD" : String(cString: git_reference_shorthand(head))
    }

    /// Removes the lock file a command killed while git created `branch`
    /// left (`refs/heads/<branch>.lock`), which would make every later
    /// create of that branch fail. Only for a branch scion was creating,
    /// under the grove lock; the link itself if it is one, never its target.
    public func removeStaleBranchLock(_ branch: String) throws {
        let lock = try commonDirectory() + "/refs/heads/" + branch + ".lock"
        var info = stat()
        guard lstat(lock, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else { return }
        guard unlink(lock) == 0 || errno == ENOENT else {
            throw ScionError(.internal, "cannot remove the stale git lock \(lock): \(String(cString: strerror(errno)))")
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
            let values = gitConfigValues(repository, ["user.name", "user.email"])
            guard let name = values[0], let email = values[1] else { return nil }
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

    /// What `git_branch_delete` does, without its config cleanup: libgit2
    /// 1.5 removes `branch.<name>.*` through a regex match whose pcre2
    /// match data it never frees (about 185 KB lost on every delete, found
    /// with valgrind), so the branch's few config keys are removed by name.
    private func deleteBranch(_ repository: OpaquePointer?, _ branch: String) {
        var reference: OpaquePointer?
        guard git_branch_lookup(&reference, repository, branch, GIT_BRANCH_LOCAL) == 0 else { return }
        defer { git_reference_free(reference) }
        // git refuses to delete the branch a worktree has checked out; so does libgit2's git_branch_delete.
        guard git_branch_is_checked_out(reference) != 1 else { return }
        var config: OpaquePointer?
        if git_repository_config(&config, repository) == 0 {
            for key in ["remote", "merge", "rebase", "pushRemote", "description"] {
                git_config_delete_entry(config, "branch.\(branch).\(key)")
            }
            git_config_free(config)
        }
        git_reference_delete(reference)
    }

    /// A worktree entry whose folder is gone would block a new one of the same name.
    private func pruneStale(_ repository: OpaquePointer?, name: String) throws {
        var worktree: OpaquePointer?
        guard git_worktree_lookup(&worktree, repository, name) == 0 else { return }
        defer { git_worktree_free(worktree) }
        var options = git_worktree_prune_options()
        git_worktree_prune_options_init(&options, UInt32(GIT_WORKTREE_PRUNE_OPTIONS_VERSION))
        if git_worktree_is_prunable(worktree, &options) == 1 {
            try removeAdministrativeEntry(repository, name: name)
        }
    }

    func withRepository<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var repository: OpaquePointer?
        try check(git_repository_open(&repository, repositoryPath), "cannot open git repository \(repositoryPath)")
        defer { git_repository_free(repository) }
        return try body(repository)
    }

    func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
        guard status == 0 else { throw Self.gitError(status, context()) }
    }

    private static func gitError(_ status: Int32, _ context: String) -> ScionError {
        let detail = git_error_last().map { String(cString: $0.pointee.message) } ?? "libgit2 error \(status)"
        let code: ScionError.Code = status == GIT_EEXISTS.rawValue ? .alreadyExists : (status == GIT_ENOTFOUND.rawValue ? .notFound : .internal)
        return ScionError(code, "\(context): \(detail)")
    }
}

/// Values of the repository's git configuration (system, global, XDG,
/// repository, worktree), as git would read them, from one snapshot.
func gitConfigValues(_ repository: OpaquePointer?, _ keys: [String]) -> [String?] {
    var config: OpaquePointer?
    guard git_repository_config_snapshot(&config, repository) == 0 else { return keys.map { _ in nil } }
    defer { git_config_free(config) }
    return keys.map { key in
        var value: UnsafePointer<CChar>?
        guard git_config_get_string(&value, config, key) == 0, let value else { return nil }
        return String(cString: value)
    }
}

func gitConfigValue(_ repository: OpaquePointer?, _ key: String) -> String? {
    gitConfigValues(repository, [key])[0]
}
