import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// git's administrative entries for linked worktrees
/// (`<common git dir>/worktrees/<name>`), read and removed directly: an
/// entry left by a killed or raced agent may be too broken for libgit2 to
/// open. Removal touches the entry only, never the working tree its
/// `gitdir` file names (an agent can rewrite that file).
public struct WorktreeAdmin: Sendable {
    public let commonDirectory: String

    public init(commonDirectory: String) {
        self.commonDirectory = commonDirectory
    }

    /// The admin entries of the repository of `grove`, or nil outside git.
    public init?(grove: Grove) {
        guard !grove.isGlobal, let repository = WorktreeManager.repositoryRoot(containing: grove.root),
              let common = try? WorktreeManager(repositoryPath: repository).commonDirectory()
        else { return nil }
        self.init(commonDirectory: common)
    }

    var worktreesDirectory: String { commonDirectory + "/worktrees" }

    public func path(_ name: String) -> String { worktreesDirectory + "/" + name }

    /// Names of the entries that scion made (`scion-*`).
    public func scionEntries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: worktreesDirectory)) ?? [])
            .filter { $0.hasPrefix("scion-") }.sorted()
    }

    public func exists(_ name: String) -> Bool {
        var info = stat()
        return Self.isPlainName(name) && lstat(path(name), &info) == 0
    }

    /// The working tree path the entry's `gitdir` file names, without its
    /// `/.git`. Agent-writable: use it to classify, never as a path to delete.
    public func workingTree(_ name: String) -> String? {
        guard Self.isPlainName(name),
              let text = try? String(contentsOfFile: path(name) + "/gitdir", encoding: .utf8)
        else { return nil }
        let gitFile = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return gitFile.hasSuffix("/.git") ? String(gitFile.dropLast(5)) : gitFile
    }

    /// The branch the entry's HEAD is on (`refs/heads/<branch>`), if any.
    public func branch(_ name: String) -> String? {
        guard Self.isPlainName(name),
              let text = try? String(contentsOfFile: path(name) + "/HEAD", encoding: .utf8)
        else { return nil }
        let head = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "ref: refs/heads/"
        return head.hasPrefix(prefix) ? String(head.dropFirst(prefix.count)) : nil
    }

    /// Makes entry `name` for a new, empty working tree at `worktree` on
    /// `branch`, as `git worktree add --no-checkout` does (the layout of
    /// gitrepository-layout(5): `gitdir`, `commondir`, `HEAD`, and the
    /// working tree's `.git` file); the index and the files are the
    /// checkout's. libgit2's `git_worktree_add` would first ask whether the
    /// branch is checked out anywhere by opening every other worktree's
    /// repository (about 0.15 ms per worktree, on every start); the caller
    /// asks that only of a branch that already existed. Both folders are
    /// made here (an existing one is an error: `.alreadyExists`); the entry
    /// is `locked` until both links exist, so a concurrent
    /// `git worktree prune` never takes it for a stale one.
    public func create(_ name: String, worktree: String, branch: String) throws {
        guard Self.isPlainName(name) else {
            throw ScionError(.invalidArgument, "\"\(name)\" is not a git worktree entry name")
        }
        if mkdir(worktreesDirectory, 0o755) != 0 && errno != EEXIST {
            throw AtomicFile.posixError("cannot make \(worktreesDirectory)")
        }
        var made: [String] = []
        do {
            for folder in [path(name), worktree] {
                guard mkdir(folder, 0o755) == 0 else {
                    let code: ScionError.Code = errno == EEXIST ? .alreadyExists : .internal
                    throw ScionError(code, "cannot make \(folder): \(String(cString: strerror(errno)))")
                }
                made.append(folder)
            }
            let lock = path(name) + "/locked"
            try AtomicFile.write("initializing\n", to: lock, durable: false)
            try AtomicFile.write("ref: refs/heads/\(branch)\n", to: path(name) + "/HEAD", durable: false)
            try writeLinks(name, worktree: worktree, durable: false)
            guard unlink(lock) == 0 else { throw AtomicFile.posixError("cannot remove \(lock)") }
        } catch {
            // Only what this call made, which holds only what it wrote.
            for folder in made.reversed() { try? FileManager.default.removeItem(atPath: folder) }
            throw error
        }
    }

    /// Re-links entry `name` and the working tree at `worktree` in both
    /// directions (what `git worktree repair` does), after the repository
    /// moved. The working tree must be a real directory, not a symlink.
    public func relink(_ name: String, worktree: String) throws {
        var info = stat()
        guard Self.isPlainName(name), lstat(path(name), &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ScionError(.notFound, "git has no worktree entry \(name) in \(worktreesDirectory)")
        }
        guard lstat(worktree, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ScionError(.failedPrecondition, "\(worktree) is not a directory, so it cannot be re-linked to git")
        }
        try writeLinks(name, worktree: worktree, durable: true)
    }

    private func writeLinks(_ name: String, worktree: String, durable: Bool) throws {
        try AtomicFile.write("gitdir: \(path(name))\n", to: worktree + "/.git", durable: durable)
        try AtomicFile.write(worktree + "/.git\n", to: path(name) + "/gitdir", durable: durable)
        // libgit2 writes the common directory as an absolute path; git's own
        // relative one survives the next move too.
        try AtomicFile.write("../..\n", to: path(name) + "/commondir", durable: durable)
    }

    /// True when the entry and the working tree at `worktree` point at each other.
    public func isLinked(_ name: String, worktree: String) -> Bool {
        let gitFile = (try? String(contentsOfFile: worktree + "/.git", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let target = gitFile.map { $0.hasPrefix("gitdir: ") ? String($0.dropFirst(8)) : $0 }
        let common = (try? String(contentsOfFile: path(name) + "/commondir", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let commonPath = common.map { $0.hasPrefix("/") ? $0 : path(name) + "/" + $0 }
        return target.map { ($0 as NSString).standardizingPath == path(name) } == true
            && workingTree(name).map { ($0 as NSString).standardizingPath == worktree } == true
            && commonPath.map { Grove.canonicalPath($0) == Grove.canonicalPath(commonDirectory) } != false
    }

    /// Removes the entry (a directory, never followed through a symlink).
    public func remove(_ name: String) throws {
        guard Self.isPlainName(name) else {
            throw ScionError(.invalidArgument, "\"\(name)\" is not a git worktree entry name")
        }
        let entry = path(name)
        var info = stat()
        guard lstat(entry, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) != S_IFDIR {
            guard unlink(entry) == 0 || errno == ENOENT else { throw AtomicFile.posixError("cannot remove \(entry)") }
            return
        }
        do {
            try FileManager.default.removeItem(atPath: entry)
        } catch let error as CocoaError where error.code == .fileNoSuchFile {
            return
        } catch {
            throw ScionError(.internal, "cannot remove git's worktree entry \(entry): \(error.localizedDescription)", cause: error)
        }
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/")
    }
}
