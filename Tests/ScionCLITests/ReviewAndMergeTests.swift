import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// `scion diff` and `scion merge` (issue 13), through the built binary and
/// real git: the agent's work against the checkout the command runs in.
@Suite("review and merge-back, end to end", .serialized)
struct ReviewAndMergeTests {
    /// A created agent (no harness runs) whose worktree the test edits as the agent would.
    struct Agent {
        let sandbox: ScionSandbox
        let name: String
        var worktree: String { sandbox.agentDirectory(name) + "/workspace" }

        init(_ sandbox: ScionSandbox, _ name: String) throws {
            self.sandbox = sandbox
            self.name = name
            try sandbox.check("create", name, "--harness", "shell", "true")
        }

        func write(_ relative: String, _ content: String) throws {
            let path = worktree + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: path, atomically: true, encoding: .utf8)
        }

        @discardableResult
        func git(_ arguments: String...) throws -> String {
            try Shell.check(["git", "-C", worktree] + arguments).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func commit(_ relative: String, _ content: String, _ message: String) throws {
            try write(relative, content)
            try git("add", relative)
            try git("commit", "-q", "-m", message)
        }
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("diff shows the agent's commits, staged, modified and untracked files against its base")
    func diffShowsCommittedAndUncommittedWork() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("committed.txt", "one\ntwo\n", "agent commit")
        try agent.write("README.md", "test repository\nedited by the agent\n")
        try agent.write("new/untracked.txt", "fresh\n")
        try agent.write("staged.txt", "staged\n")
        try agent.git("add", "staged.txt")

        let patch = try sandbox.check("diff", "api")
        #expect(patch.contains("diff --git a/committed.txt b/committed.txt"))
        #expect(patch.contains("+edited by the agent"))
        #expect(patch.contains("+fresh"))
        #expect(patch.contains("+staged"))
        #expect(!patch.contains("\u{1B}["), "not a terminal: no color")

        let names = try sandbox.check("diff", "api", "--name-only")
        #expect(names.split(separator: "\n").sorted() == ["README.md", "committed.txt", "new/untracked.txt", "staged.txt"])

        let stat = try sandbox.check("diff", "api", "--stat")
        #expect(stat.contains(" committed.txt"))
        #expect(stat.contains("| 2 ++"))
        #expect(stat.contains("4 files changed, 5 insertions(+)"))

        let report = try json(try sandbox.check("diff", "api", "--format", "json"))
        #expect(report["agent"] as? String == "api")
        #expect(report["base"] as? String == (try sandbox.repository.git("rev-parse", "main")))
        #expect(report["base_ref"] as? String == "main")
        #expect(report["additions"] as? Int == 5)
        let files = try #require(report["files"] as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as! String, $0) })
        #expect(byPath["committed.txt"]?["status"] as? String == "added")
        #expect(byPath["README.md"]?["status"] as? String == "modified")
        #expect(byPath["new/untracked.txt"]?["status"] as? String == "untracked")

        let colored = try sandbox.check("diff", "api", "--color", "always")
        #expect(colored.contains("\u{1B}[32m+one"))
    }

    @Test("diff measures from where the branch meets the checkout, so merged work no longer shows")
    func diffAfterMerge() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("a.txt", "a\n", "agent a")
        _ = try sandbox.repository.git("merge", "-q", "api")
        try agent.commit("b.txt", "b\n", "agent b")
        let names = try sandbox.check("diff", "api", "--name-only")
        #expect(names == "b.txt\n")
    }

    @Test("merge fast-forwards the checked-out branch")
    func fastForward() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("a.txt", "a\n", "agent a")
        let tip = try agent.git("rev-parse", "HEAD")
        let result = try json(try sandbox.check("merge", "api", "--format", "json"))
        let merge = try #require(result["merge"] as? [String: Any])
        #expect(merge["result"] as? String == "fast_forward")
        #expect(try sandbox.repository.git("rev-parse", "main") == tip)
        #expect(sandbox.repository.directory.read("a.txt") == "a\n")
    }

    @Test("merge makes a merge commit when both sides moved, and --delete deletes the merged agent")
    func mergeCommitAndDelete() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("a.txt", "a\n", "agent a")
        try sandbox.repository.directory.write("user.txt", "user\n")
        _ = try sandbox.repository.git("add", "user.txt")
        _ = try sandbox.repository.git("commit", "-q", "-m", "user work")
        let output = try sandbox.check("merge", "api", "--delete")
        #expect(output.contains("merged api into main"))
        #expect(try sandbox.repository.git("log", "-1", "--format=%P", "main").split(separator: " ").count == 2)
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "main") == "Merge branch 'api'")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("api")))
        #expect(try !sandbox.repository.branches().contains("api"))
    }

    @Test("merge --squash -m makes one commit with the message, and --delete accepts the squashed commits")
    func squash() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("a.txt", "a\n", "agent a")
        try agent.commit("b.txt", "b\n", "agent b")
        let before = try sandbox.repository.git("rev-parse", "main")
        let output = try sandbox.check("merge", "api", "--squash", "-m", "Add pagination", "--delete")
        #expect(output.contains("squashed api"))
        #expect(try sandbox.repository.git("log", "-1", "--format=%s%n%P", "main") == "Add pagination\n\(before)")
        #expect(sandbox.repository.directory.read("b.txt") == "b\n")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("api")), "the squashed agent was not deleted")
    }

    @Test("a conflict names the files, exits 9, leaves git's merge state, and --abort restores HEAD and tree exactly")
    func conflictAndAbort() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("README.md", "agent's readme\n", "agent readme")
        try agent.commit("agent-only.txt", "agent\n", "agent file")
        try sandbox.repository.directory.write("README.md", "user's readme\n")
        _ = try sandbox.repository.git("commit", "-q", "-am", "user readme")
        // Unrelated uncommitted work of the user's, which the merge does not touch.
        try sandbox.repository.directory.write("notes.txt", "my notes\n")
        let head = try sandbox.repository.git("rev-parse", "HEAD")
        let statusBefore = try sandbox.repository.git("status", "--porcelain")

        let result = try sandbox.scion("merge", "api")
        #expect(result.status == 9, "\(result.stderr)")
        #expect(result.stderr.contains("conflicts in README.md"))
        #expect(result.stderr.contains("scion merge api --abort"))
        #expect(FileManager.default.fileExists(atPath: sandbox.path + "/.git/MERGE_HEAD"))
        #expect(try sandbox.repository.git("diff", "--name-only", "--diff-filter=U") == "README.md")

        let aborted = try sandbox.scion("merge", "api", "--abort")
        #expect(aborted.status == 0, "\(aborted.stderr)")
        #expect(try sandbox.repository.git("rev-parse", "HEAD") == head)
        #expect(try sandbox.repository.git("status", "--porcelain") == statusBefore)
        #expect(sandbox.repository.directory.read("README.md") == "user's readme\n")
        #expect(sandbox.repository.directory.read("notes.txt") == "my notes\n")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/agent-only.txt"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/.git/MERGE_HEAD"))
        #expect(try sandbox.scion("merge", "api", "--abort").status == 1, "a second abort has nothing to undo")
    }

    @Test("a squash that conflicts is aborted too, though git leaves no MERGE_HEAD")
    func squashConflictAbort() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("README.md", "agent's readme\n", "agent readme")
        try sandbox.repository.directory.write("README.md", "user's readme\n")
        _ = try sandbox.repository.git("commit", "-q", "-am", "user readme")
        let head = try sandbox.repository.git("rev-parse", "HEAD")
        let statusBefore = try sandbox.repository.git("status", "--porcelain")
        let result = try sandbox.scion("merge", "api", "--squash", "-m", "squash")
        #expect(result.status == 9, "\(result.stderr)")
        #expect(try sandbox.scion("merge", "api", "--abort").status == 0)
        #expect(try sandbox.repository.git("rev-parse", "HEAD") == head)
        #expect(try sandbox.repository.git("status", "--porcelain") == statusBefore)
        #expect(sandbox.repository.directory.read("README.md") == "user's readme\n")
    }

    @Test("merge refuses (exit 8) when the user's uncommitted changes are in files the merge would change")
    func refusesToTouchUserChanges() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("README.md", "agent's readme\n", "agent readme")
        try agent.commit("new.txt", "agent\n", "agent new file")
        try sandbox.repository.directory.write("README.md", "user's uncommitted edit\n")
        try sandbox.repository.directory.write("new.txt", "user's untracked file\n")
        let head = try sandbox.repository.git("rev-parse", "HEAD")
        let result = try sandbox.scion("merge", "api")
        #expect(result.status == 8, "\(result.stderr)")
        #expect(result.stderr.contains("README.md, new.txt"))
        #expect(try sandbox.repository.git("rev-parse", "HEAD") == head)
        #expect(sandbox.repository.directory.read("README.md") == "user's uncommitted edit\n")
        #expect(sandbox.repository.directory.read("new.txt") == "user's untracked file\n")
    }

    @Test("merge refuses an agent with uncommitted files, which it would leave out")
    func refusesAgentUncommittedWork() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        try agent.commit("a.txt", "a\n", "agent a")
        try agent.write("wip.txt", "not committed\n")
        let result = try sandbox.scion("merge", "api")
        #expect(result.status == 1)
        #expect(result.stderr.contains("1 uncommitted file in its worktree"))
        #expect(try sandbox.repository.git("rev-parse", "main") != (try agent.git("rev-parse", "HEAD")))
    }

    @Test("merge run inside another agent's worktree merges into that agent's branch")
    func mergeIntoParentAgent() throws {
        let sandbox = try ScionSandbox()
        let parent = try Agent(sandbox, "parent")
        let child = try Agent(sandbox, "child")
        try child.commit("child.txt", "child\n", "child work")
        let result = try sandbox.scion(["merge", "child"], in: parent.worktree)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try parent.git("log", "-1", "--format=%s") == "child work")
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "main") == "initial")
    }

    @Test("list shows commits ahead of and behind the base and a dirty mark")
    func listAheadBehindDirty() throws {
        let sandbox = try ScionSandbox()
        let agent = try Agent(sandbox, "api")
        _ = try Agent(sandbox, "clean")
        try agent.commit("a.txt", "a\n", "agent a")
        try agent.commit("b.txt", "b\n", "agent b")
        _ = try sandbox.repository.git("commit", "-q", "--allow-empty", "-m", "user moves on")
        try agent.write("wip.txt", "uncommitted\n")
        let api = try #require(try sandbox.agent("api"))
        #expect(api["ahead"] as? Int == 2)
        #expect(api["behind"] as? Int == 1)
        #expect(api["dirty"] as? Bool == true)
        let clean = try #require(try sandbox.agent("clean"))
        #expect(clean["ahead"] as? Int == 0)
        #expect(clean["behind"] as? Int == 1)
        #expect(clean["dirty"] as? Bool == false)
        let table = try sandbox.check("list")
        #expect(table.contains("+2 -1 *"))
    }
}
