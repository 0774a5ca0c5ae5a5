import CGit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The checkout a command runs in (the user's main worktree, or an agent's
/// worktree when run inside an agent), read through libgit2: what `diff`
/// measures against and what `merge` merges into.
public struct Checkout: Sendable {
    /// The top of its working tree.
    public var root: String
    /// Its git directory (`.git`, or `.git/worktrees/<name>` for a linked worktree).
    public var gitDirectory: String
    /// The repository's common git directory (the main `.git`).
    public var commonDirectory: String

    /// The checkout containing `path`, or nil outside git (or in a bare repository).
    public init?(containing path: String) {
        _ = WorktreeManager(repositoryPath: path)
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, path, 0, nil) == 0 else { return nil }
        defer { git_repository_free(repository) }
        guard let workdir = git_repository_workdir(repository) else { return nil }
        root = Self.trimmed(String(cString: workdir))
        gitDirectory = Self.trimmed(String(cString: git_repository_path(repository)))
        commonDirectory = Self.trimmed(String(cString: git_repository_commondir(repository)))
    }

    /// True when both are checkouts of one repository.
    public func sharesRepository(with commonDirectory: String) -> Bool {
        Grove.canonicalPath(self.commonDirectory) == Grove.canonicalPath(commonDirectory)
    }

    private func withRepository<T>(_ body: (OpaquePointer?) throws -> T) throws -> T {
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, root, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else {
            throw ScionError(.notFound, "cannot open the git checkout at \(root)")
        }
        defer { git_repository_free(repository) }
        return try body(repository)
    }

    /// HEAD's commit, nil when unborn.
    public var head: String? {
        try? withRepository { repository -> String? in
            var oid = git_oid()
            guard git_reference_name_to_id(&oid, repository, "HEAD") == 0 else { return nil }
            return WorktreeManager.hex(&oid)
        }
    }

    /// HEAD's branch (`main`), nil when detached or unborn.
    public var branch: String? {
        try? withRepository { repository -> String? in
            var head: OpaquePointer?
            guard git_repository_head(&head, repository) == 0 else { return nil }
            defer { git_reference_free(head) }
            guard git_repository_head_detached(repository) == 0 else { return nil }
            return String(cString: git_reference_shorthand(head))
        }
    }

    /// True while a merge (or any other multi-step operation: a rebase, a
    /// cherry-pick) is in progress here.
    public var operationInProgress: Bool {
        (try? withRepository { git_repository_state($0) != Int32(GIT_REPOSITORY_STATE_NONE.rawValue) }) ?? false
    }

    /// True when git's merge state (MERGE_HEAD) is there.
    public var mergeInProgress: Bool {
        FileManager.default.fileExists(atPath: gitDirectory + "/MERGE_HEAD")
    }

    /// Paths with conflicts in the index, sorted.
    public func conflictedPaths() -> [String] {
        (try? withRepository { repository -> [String] in
            var index: OpaquePointer?
            guard git_repository_index(&index, repository) == 0 else { return [] }
            defer { git_index_free(index) }
            var iterator: OpaquePointer?
            guard git_index_conflict_iterator_new(&iterator, index) == 0 else { return [] }
            defer { git_index_conflict_iterator_free(iterator) }
            var paths: Set<String> = []
            var ancestor: UnsafePointer<git_index_entry>?
            var ours: UnsafePointer<git_index_entry>?
            var theirs: UnsafePointer<git_index_entry>?
            while git_index_conflict_next(&ancestor, &ours, &theirs, iterator) == 0 {
                for entry in [ancestor, ours, theirs] {
                    if let path = entry?.pointee.path { paths.insert(String(cString: path)) }
                }
            }
            return paths.sorted()
        }) ?? []
    }

    /// Paths that are staged, modified, deleted or untracked (not ignored).
    public func uncommittedPaths() throws -> Set<String> {
        try withRepository { repository in
            var options = git_status_options()
            git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
            options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
            options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
            var list: OpaquePointer?
            guard git_status_list_new(&list, repository, &options) == 0 else {
                throw ScionError(.internal, "cannot read the status of \(root)")
            }
            defer { git_status_list_free(list) }
            var paths: Set<String> = []
            for index in 0..<git_status_list_entrycount(list) {
                guard let entry = git_status_byindex(list, index) else { continue }
                for delta in [entry.pointee.head_to_index, entry.pointee.index_to_workdir] {
                    guard let delta else { continue }
                    if let path = delta.pointee.old_file.path { paths.insert(String(cString: path)) }
                    if let path = delta.pointee.new_file.path { paths.insert(String(cString: path)) }
                }
            }
            return paths
        }
    }

    /// A value of the checkout's git configuration (system, global,
    /// repository, worktree), as git would read it.
    public func config(_ key: String) -> String? {
        try? withRepository { gitConfigValue($0, key) }
    }

    private static func trimmed(_ path: String) -> String {
        path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }
}

extension Checkout {
    /// Ignored files and folders as git reports them: a folder that is
    /// ignored as a whole is one entry (`isDirectory`), not searched.
    public func ignoredEntries() throws -> [(path: String, isDirectory: Bool)] {
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, root, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil) == 0 else {
            throw ScionError(.notFound, "cannot open the git checkout at \(root)")
        }
        defer { git_repository_free(repository) }
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = GIT_STATUS_SHOW_WORKDIR_ONLY
        options.flags = GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
        var list: OpaquePointer?
        guard git_status_list_new(&list, repository, &options) == 0 else {
            throw ScionError(.internal, "cannot list the ignored files of \(root)")
        }
        defer { git_status_list_free(list) }
        var entries: [(String, Bool)] = []
        for index in 0..<git_status_list_entrycount(list) {
            guard let entry = git_status_byindex(list, index), (entry.pointee.status.rawValue & GIT_STATUS_IGNORED.rawValue) != 0,
                  let path = entry.pointee.index_to_workdir?.pointee.new_file.path else { continue }
            var text = String(cString: path)
            if text.hasSuffix("/") { text.removeLast() }
            var info = stat()
            let isDirectory = lstat(root + "/" + text, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            entries.append((text, isDirectory))
        }
        return entries
    }
}
