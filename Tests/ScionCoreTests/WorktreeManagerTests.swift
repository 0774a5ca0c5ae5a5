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
}
