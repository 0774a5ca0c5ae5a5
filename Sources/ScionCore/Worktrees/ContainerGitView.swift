import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// What an agent in a container sees of the repository's git directory
/// (docs/architecture.md, "Git in containers"). Git on the host trusts
/// everything in that folder: `config` (core.fsmonitor, core.hooksPath,
/// aliases, filters), `hooks/`, `commondir` (a file that, once planted,
/// makes the user's git read another folder's config), a main-worktree
/// `rebase-merge/` whose `exec` lines run on `git rebase --continue`... So
/// the folder is mounted read-only, and only what committing on the
/// agent's branch needs is writable on top of it:
///
/// - `objects/`, `refs/` and `logs/` (shared with the host: the commit
///   lands on the branch), and `rr-cache/` and `lfs/` when they exist;
/// - `worktrees/` is replaced by an empty read-only folder holding only the
///   agent's own admin folder (its HEAD, index, per-worktree refs),
///   writable, so other agents' admin folders are out of reach; its
///   `gitdir` and `commondir` files stay read-only.
struct ContainerGitView {
    /// The repository's common git directory (`<repo>/.git`).
    let commonDirectory: String
    /// git's name for the agent's worktree (`worktrees/<name>`).
    let worktreeName: String
    /// A host folder only scion writes (in `.scion/agents/<agent>/`), which
    /// holds the empty `worktrees/` shown in place of the real one.
    let viewDirectory: String

    static let writable = ["objects", "refs", "logs"]
    static let writableIfPresent = ["rr-cache", "lfs"]
    static let readOnlyAdminFiles = ["gitdir", "commondir"]

    func mounts() throws -> [RunSpec.Mount] {
        let admin = commonDirectory + "/worktrees/" + worktreeName
        guard Self.isRealDirectory(admin) else {
            throw ScionError(
                .failedPrecondition,
                "the agent's git worktree folder \(admin) is missing or not a folder: `scion delete` the agent and start it again")
        }
        var mounts = [RunSpec.Mount(source: commonDirectory, target: commonDirectory, readOnly: true)]
        for name in Self.writable + Self.writableIfPresent {
            let path = commonDirectory + "/" + name
            if !Self.isRealDirectory(path) {
                guard Self.writable.contains(name) else { continue }
                // git makes logs/ with the first reflog; make it now, as git would.
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                guard Self.isRealDirectory(path) else {
                    throw ScionError(.failedPrecondition, "\(path) is not a folder: git cannot work in this repository")
                }
            }
            mounts.append(RunSpec.Mount(source: path, target: path))
        }
        let emptyWorktrees = try prepareView()
        mounts.append(RunSpec.Mount(source: emptyWorktrees, target: commonDirectory + "/worktrees", readOnly: true))
        mounts.append(RunSpec.Mount(source: admin, target: admin))
        for file in Self.readOnlyAdminFiles where Self.isRegularFile(admin + "/" + file) {
            mounts.append(RunSpec.Mount(source: admin + "/" + file, target: admin + "/" + file, readOnly: true))
        }
        return mounts
    }

    /// `<view>/worktrees/<name>/`, empty: the mount point of the agent's
    /// own admin folder and nothing else.
    private func prepareView() throws -> String {
        let worktrees = viewDirectory + "/worktrees"
        let manager = FileManager.default
        try manager.createDirectory(atPath: worktrees + "/" + worktreeName, withIntermediateDirectories: true)
        for entry in (try? manager.contentsOfDirectory(atPath: worktrees)) ?? [] where entry != worktreeName {
            try? manager.removeItem(atPath: worktrees + "/" + entry)
        }
        return worktrees
    }

    static func isRealDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }
}
