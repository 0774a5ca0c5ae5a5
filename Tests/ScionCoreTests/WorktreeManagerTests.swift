import Foundation
import ScionCore
import ScionTestSupport
import Testing

@Suite("worktrees through libgit2, checked with the git CLI")
struct WorktreeManagerTests {
    @Test("a worktree on a new branch from HEAD; removing it removes folder and branch")
    func addAndRemove() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/.scion/agents/web/workspace"
        let created = try manager.add(name: "scion-web", path: path, branch: "web", base: nil)
        #expect(created.createdBranch)
        #expect(try Shell.check(["git", "-C", path, "rev-parse", "--abbrev-ref", "HEAD"]) == "web\n")
        #expect(try Shell.check(["git", "-C", path, "status", "--porcelain"]).isEmpty)
        try manager.remove(name: "scion-web", path: path, branch: "web")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!(try repository.branches()).contains("web"))
        #expect(!(try repository.git("worktree", "list")).contains("workspace"))
    }

    @Test("an existing branch is reused, and kept when removal preserves it")
    func reuseBranch() throws {
        let repository = try GitRepository()
        _ = try repository.git("branch", "feature")
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/wt"
        let created = try manager.add(name: "scion-f", path: path, branch: "feature", base: nil)
        #expect(!created.createdBranch)
        try manager.remove(name: "scion-f", path: path, branch: nil)
        #expect(try repository.branches().contains("feature"))
    }

    @Test("a branch checked out elsewhere is refused")
    func branchInUse() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let error = try #require(throws: ScionError.self) {
            try manager.add(name: "scion-main", path: repository.path + "/wt", branch: "main", base: nil)
        }
        #expect(error.message.contains("already checked out"))
    }

    @Test("--base picks the starting commit; a bad base is a clear error")
    func base() throws {
        let repository = try GitRepository()
        let first = try repository.git("rev-parse", "HEAD")
        _ = try repository.git("commit", "-q", "--allow-empty", "-m", "second")
        let manager = WorktreeManager(repositoryPath: repository.path)
        _ = try manager.add(name: "scion-old", path: repository.path + "/wt", branch: "old", base: first)
        #expect(try repository.git("rev-parse", "old") == first)
        let error = try #require(throws: ScionError.self) {
            try manager.add(name: "scion-bad", path: repository.path + "/wt2", branch: "bad", base: "no-such-ref")
        }
        #expect(error.message.contains("no-such-ref"))
        #expect(!(try repository.branches()).contains("bad"))
    }

    @Test("git's own commands accept the worktree entry scion writes: list, status, prune, lock, remove")
    func entryIsGits() throws {
        let repository = try GitRepository()
        _ = try repository.git("worktree", "add", "-q", "-b", "other", repository.path + "/other")
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/.scion/agents/web/workspace"
        _ = try manager.add(name: "scion-web", path: path, branch: "web", base: nil)
        let admin = repository.path + "/.git/worktrees/scion-web"
        #expect(!FileManager.default.fileExists(atPath: admin + "/locked"))
        #expect(try String(contentsOfFile: admin + "/commondir", encoding: .utf8) == "../..\n")
        #expect(try repository.git("worktree", "list", "--porcelain").contains("worktree \(path)\nHEAD \(try repository.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines))\nbranch refs/heads/web\n"))
        #expect(try Shell.check(["git", "-C", path, "status", "--porcelain"]).isEmpty)
        #expect(try Shell.check(["git", "-C", path, "rev-parse", "--git-common-dir"]).hasSuffix("/.git\n"))
        _ = try repository.git("worktree", "prune")
        #expect(FileManager.default.fileExists(atPath: admin + "/HEAD"))
        _ = try repository.git("worktree", "lock", path)
        _ = try repository.git("worktree", "unlock", path)
        let checkedOut = try #require(throws: ScionError.self) {
            try manager.add(name: "scion-web2", path: repository.path + "/wt2", branch: "web", base: nil)
        }
        #expect(checkedOut.message.contains("already checked out"))
        _ = try repository.git("worktree", "remove", path)
        #expect(!FileManager.default.fileExists(atPath: admin))
    }

    @Test("an existing worktree folder is refused, and neither a branch nor an entry is left")
    func existingFolderIsRefused() throws {
        let repository = try GitRepository()
        let path = repository.path + "/taken"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try "mine\n".write(toFile: path + "/notes.txt", atomically: true, encoding: .utf8)
        let manager = WorktreeManager(repositoryPath: repository.path)
        let error = try #require(throws: ScionError.self) {
            try manager.add(name: "scion-t", path: path, branch: "t", base: nil)
        }
        #expect(error.code == .alreadyExists && error.message.contains(path))
        #expect(try String(contentsOfFile: path + "/notes.txt", encoding: .utf8) == "mine\n")
        #expect(!FileManager.default.fileExists(atPath: repository.path + "/.git/worktrees/scion-t"))
        #expect(!(try repository.branches()).contains("t"))
    }

    @Test("a stale worktree entry whose folder vanished does not block a new one")
    func staleEntry() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/wt"
        _ = try manager.add(name: "scion-x", path: path, branch: "x", base: nil)
        try FileManager.default.removeItem(atPath: path)
        _ = try manager.add(name: "scion-x", path: path, branch: "y", base: nil)
        #expect(FileManager.default.fileExists(atPath: path + "/README.md"))
    }

    @Test("remove deletes neither the folder a rewritten gitdir names nor anything through a symlinked admin folder")
    func removeIgnoresRewrittenGitdir() throws {
        let repository = try GitRepository()
        let victim = try TemporaryDirectory("victim")
        try victim.write("precious.txt", "precious\n")
        let manager = WorktreeManager(repositoryPath: repository.path)
        let agent = repository.path + "/.scion/agents/x"
        let path = agent + "/workspace"
        _ = try manager.add(name: "scion-x", path: path, branch: "x", base: nil)
        let admin = repository.path + "/.git/worktrees/scion-x"
        try (victim.path + "\n").write(toFile: admin + "/gitdir", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: admin + "/planted", withDestinationPath: victim.path)
        try manager.remove(name: "scion-x", path: path, branch: "x", within: agent)
        #expect(victim.read("precious.txt") == "precious\n")
        #expect(!FileManager.default.fileExists(atPath: admin))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!(try repository.branches()).contains("x"))
        #expect(FileManager.default.fileExists(atPath: repository.path + "/README.md"))
    }

    @Test("a worktree path outside its boundary is refused and nothing is removed")
    func removeStaysInsideBoundary() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let error = try #require(throws: ScionError.self) {
            try manager.remove(name: "scion-y", path: repository.path, branch: nil, within: repository.path + "/.scion/agents/y")
        }
        #expect(error.message.contains("refusing"))
        #expect(FileManager.default.fileExists(atPath: repository.path + "/README.md"))
    }

    @Test("the base ref and commit are recorded; a reused branch is its own base")
    func baseIsRecorded() throws {
        let repository = try GitRepository()
        let head = try repository.git("rev-parse", "HEAD")
        _ = try repository.git("branch", "feature")
        let manager = WorktreeManager(repositoryPath: repository.path)
        let created = try manager.add(name: "scion-a", path: repository.path + "/wt-a", branch: "a", base: nil)
        #expect(created.baseRef == "main" && created.baseCommit == head)
        let reused = try manager.add(name: "scion-f", path: repository.path + "/wt-f", branch: "feature", base: nil)
        #expect(reused.baseRef == "feature" && reused.baseCommit == head && !reused.createdBranch)
    }

    @Test("commits reachable from no other ref are counted; a merge, a tag or a remote-tracking ref makes them safe")
    func unmergedCommits() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/wt"
        _ = try manager.add(name: "scion-w", path: path, branch: "w", base: nil)
        #expect(try manager.branchWork("w")?.unmergedCommits == 0)
        for message in ["one", "two", "three"] {
            try Shell.check(["git", "-C", path, "commit", "-q", "--allow-empty", "-m", message])
        }
        let work = try #require(try manager.branchWork("w"))
        #expect(work.unmergedCommits == 3)
        #expect(work.tip == (try repository.git("rev-parse", "w")))
        #expect(work.tip.hasPrefix(work.shortTip) && work.shortTip.count >= 7)
        _ = try repository.git("tag", "v1", "w~1")
        #expect(try manager.branchWork("w")?.unmergedCommits == 1)
        _ = try repository.git("update-ref", "refs/remotes/origin/w", "w")
        #expect(try manager.branchWork("w")?.unmergedCommits == 0)
        #expect(try manager.branchWork("no-such-branch") == nil)
    }

    @Test("modified, staged and untracked files count as uncommitted; ignored files do not")
    func uncommittedFiles() throws {
        let repository = try GitRepository()
        let manager = WorktreeManager(repositoryPath: repository.path)
        let path = repository.path + "/wt"
        _ = try manager.add(name: "scion-u", path: path, branch: "u", base: nil)
        #expect(WorktreeManager.uncommittedFiles(worktree: path) == 0)
        try "changed\n".write(toFile: path + "/README.md", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path + "/new/dir", withIntermediateDirectories: true)
        try "a\n".write(toFile: path + "/new/dir/a.txt", atomically: true, encoding: .utf8)
        try "b\n".write(toFile: path + "/new/b.txt", atomically: true, encoding: .utf8)
        try "build/\n".write(toFile: path + "/.gitignore", atomically: true, encoding: .utf8)
        try Shell.check(["git", "-C", path, "add", ".gitignore"])
        try FileManager.default.createDirectory(atPath: path + "/build", withIntermediateDirectories: true)
        try "ignored\n".write(toFile: path + "/build/out.o", atomically: true, encoding: .utf8)
        // README.md modified, .gitignore staged, two untracked files; build/ ignored.
        #expect(WorktreeManager.uncommittedFiles(worktree: path) == 4)
        try FileManager.default.removeItem(atPath: path + "/.git")
        #expect(WorktreeManager.uncommittedFiles(worktree: path) == nil)
    }
}
