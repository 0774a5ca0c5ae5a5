import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// The uid:gid an agent runs as on a container runtime that mounts host
/// folders (docker, podman), and what that uid needs on the host: by
/// default the host user's own ids, so nothing changes hands; with
/// `runtimes.<name>.run_as_user` another user (for example a non-root agent
/// when scion runs as root), and then scion gives that user what scion
/// created for the agent (its home, its worktree, the worktree's admin
/// folder in `.git/worktrees/`, its branch's ref and reflog files) and
/// nothing else. The repository's shared
/// git folders stay the user's: the agent's uid must already be able to
/// write them (a group-shared repository), or the start is refused, since
/// its commits would fail. docs/runtimes/docker.md, "A non-root agent user".
struct ContainerUser {
    let uid: UInt32
    let gid: UInt32
    let name: String

    /// The user from the runtime's options (already checked by
    /// RuntimeOptions), else the host user.
    init(options: [String: JSONValue], hostName: String) {
        if let text = options[AgentUser.optionKey]?.stringValue, let ids = AgentUser.parse(text) {
            uid = ids.uid
            gid = ids.gid
            name = ids.uid == getuid() ? hostName : AgentUser.defaultName
        } else {
            uid = getuid()
            gid = getgid()
            name = hostName
        }
    }

    var runSpecUser: RunSpec.User { RunSpec.User(uid: uid, gid: gid, name: name) }

    /// Whether files need to change hands for this user.
    var differsFromHost: Bool { uid != getuid() || gid != getgid() }

    /// Gives the agent's own folders to the agent's user, after checking
    /// that it can commit: the repository's shared git folders must be
    /// writable by it as they are.
    func prepare(agent: String, branch: String?, home: String, worktree: String, gitDirectory: String?, adminFolder: String?) throws {
        guard differsFromHost else { return }
        if let gitDirectory { try checkCanCommit(agent: agent, gitDirectory: gitDirectory) }
        do {
            for folder in [home, worktree] + (adminFolder.map { [$0] } ?? []) {
                try AgentUser.giveOwnership(of: folder, uid: uid, gid: gid)
            }
            // The agent's branch and its reflog, which scion made with the
            // agent: a commit appends to the reflog in place.
            if let gitDirectory, let branch {
                for folder in ["refs/heads/", "logs/refs/heads/"] { try giveFile(gitDirectory + "/" + folder + branch) }
            }
        } catch let error as PluginError {
            throw ScionError(error, context: "agent \(agent) runs as uid \(uid):\(gid) (\(AgentUser.optionKey))")
        }
    }

    /// One regular file with no other name, not following a link.
    func giveFile(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1,
            info.st_uid != uid || info.st_gid != gid
        else { return }
        if lchown(path, uid, gid) != 0 { throw AgentUser.failure("cannot give \(path) to uid \(uid):\(gid)", errno) }
    }

    /// objects/ (and its fan-out folders), refs/ and logs/ (and every folder
    /// below them) must be writable by uid:gid.
    func checkCanCommit(agent: String, gitDirectory: String) throws {
        var folders: [String] = []
        let manager = FileManager.default
        for name in ContainerGitView.writable {
            let top = gitDirectory + "/" + name
            guard ContainerGitView.isRealDirectory(top) else { continue }
            folders.append(top)
            let below = name == "objects"
                ? ((try? manager.contentsOfDirectory(atPath: top)) ?? []).map { top + "/" + $0 }
                : (manager.enumerator(atPath: top)?.allObjects as? [String] ?? []).map { top + "/" + $0 }
            folders += below.filter(ContainerGitView.isRealDirectory)
        }
        for folder in folders {
            var info = stat()
            guard lstat(folder, &info) == 0, !canWrite(info) else { continue }
            throw ScionError(
                .failedPrecondition,
                "agent \(agent) would run as uid \(uid):\(gid) (\(AgentUser.optionKey)), which cannot write \(folder) "
                    + "(owner \(info.st_uid):\(info.st_gid), mode \(String(info.st_mode & 0o7777, radix: 8))), so its commits would fail: "
                    + "share the repository with group \(gid) (see docs/runtimes/docker.md, \"A non-root agent user\") or leave run_as_user unset")
        }
    }

    /// Write and search permission on a folder for uid:gid (uid 0 has both).
    func canWrite(_ info: stat) -> Bool {
        let mode = info.st_mode
        if uid == 0 { return true }
        if info.st_uid == uid { return mode & 0o300 == 0o300 }
        if info.st_gid == gid { return mode & 0o030 == 0o030 }
        return mode & 0o003 == 0o003
    }
}
