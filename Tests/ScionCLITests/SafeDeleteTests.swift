import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// What `scion delete` and `stop --rm` may remove, through the built binary:
/// only what scion made, at paths it computes, and never a user's work
/// without --force, a yes, or the SHA that brings it back.
@Suite("safe delete, end to end", .serialized)
struct SafeDeleteTests {
    // MARK: paths an agent can write are never followed (defect 1)

    /// The agent writes `<folder>/.git` into its gitdir, as git would for a
    /// worktree at `<folder>`: the old delete removed `<folder>` recursively.
    @Test("an agent that rewrites its gitdir to another folder or to the grove cannot make delete remove it",
          arguments: ["victim", "grove"])
    func rewrittenGitdirIsIgnored(target: String) throws {
        let sandbox = try ScionSandbox()
        let victim = try TemporaryDirectory("victim")
        try victim.write("precious.txt", "precious\n")
        try sandbox.repository.directory.write("uncommitted.txt", "user's own work\n")
        let path = target == "victim" ? victim.path : sandbox.path
        try sandbox.check(
            "start", "evil", "--harness", "shell",
            #"echo "\#(path)/.git" > "$(git rev-parse --git-dir)/gitdir"; ln -s "\#(path)" escape; touch "$(git rev-parse --git-dir)/done"; sleep 60"#)
        let admin = sandbox.path + "/.git/worktrees/scion-evil"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: admin + "/done") })
        #expect(try String(contentsOfFile: admin + "/gitdir", encoding: .utf8) == path + "/.git\n")
        let result = try sandbox.scion("delete", "evil", "--force")
        #expect(result.status == 0, "delete failed: \(result.stderr)")
        #expect(victim.read("precious.txt") == "precious\n", "the folder the agent named was deleted")
        #expect(sandbox.repository.directory.read("uncommitted.txt") == "user's own work\n")
        #expect(sandbox.repository.directory.read("README.md") == "test repository\n")
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "main") == "initial")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("evil")))
        #expect(!FileManager.default.fileExists(atPath: admin))
    }

    @Test("a docker agent cannot rewrite its gitdir, and delete never removes the grove",
          .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
    func dockerAgentRewritesGitdir() throws {
        let world = try EngineWorld(.docker)
        let sandbox = world.sandbox
        try sandbox.repository.directory.write("uncommitted.txt", "user's own work\n")
        // Two walls: git's admin files are read-only inside containers (see
        // ContainerGitView), and delete never follows them anyway (the local
        // runtime test above, where the agent can write them).
        try sandbox.check(
            "start", "evil", "--harness", "shell",
            #"{ echo "\#(sandbox.path)/.git" > "$(git rev-parse --git-dir)/gitdir" && echo written || echo refused; } 2>/dev/null > "$HOME/attempt.part"; mv "$HOME/attempt.part" "$HOME/attempt"; sleep 60"#)
        let attempt = sandbox.agentDirectory("evil") + "/home/attempt"
        #expect(Shell.eventually(timeout: 30) { FileManager.default.fileExists(atPath: attempt) }, "the agent did not try")
        #expect(try String(contentsOfFile: attempt, encoding: .utf8) == "refused\n", "the container could rewrite its gitdir")
        let admin = sandbox.path + "/.git/worktrees/scion-evil"
        #expect(try String(contentsOfFile: admin + "/gitdir", encoding: .utf8) != sandbox.path + "/.git\n")
        let result = try sandbox.scion("delete", "evil")
        #expect(result.status == 0, "delete failed: \(result.stderr)")
        #expect(sandbox.repository.directory.read("uncommitted.txt") == "user's own work\n")
        #expect(sandbox.repository.directory.read("README.md") == "test repository\n")
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "main") == "initial")
        try world.expectNothingLeft("evil", containers: false)
    }

    // MARK: branches scion did not create stay (defect 2)

    @Test("a user's branch reused with --branch or through the name's slug survives delete with its commits",
          arguments: [["y", "--branch", "feature"], ["feature"], ["Feature"]])
    func userBranchSurvives(start: [String]) throws {
        let sandbox = try ScionSandbox()
        _ = try sandbox.repository.git("branch", "feature")
        _ = try sandbox.repository.git("commit", "-q", "--allow-empty", "-m", "user work on main")
        let userTip = try Shell.check(["git", "-C", sandbox.path, "commit-tree", "-p", "feature", "-m", "user's own commit",
                                       "feature^{tree}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try sandbox.repository.git("update-ref", "refs/heads/feature", userTip)
        let started = try sandbox.scion(["start"] + start + ["--harness", "shell", "sleep 60"])
        #expect(started.status == 0, "\(started.stderr)")
        let name = start[0]
        let record = try String(contentsOfFile: sandbox.agentDirectory(name) + "/agent.json", encoding: .utf8)
        #expect(record.contains("\"created_branch\" : false"))
        let result = try sandbox.scion("delete", name)
        #expect(result.status == 0, "delete failed: \(result.stderr)")
        #expect(try sandbox.repository.branches().contains("feature"), "the user's branch was deleted")
        #expect(try sandbox.repository.git("rev-parse", "feature") == userTip)
    }

    // MARK: work is not lost without a word (defect 3)

    @Test("delete refuses unmerged commits and uncommitted files with exit 8; --force deletes and prints the tip that restores them")
    func refusesThenForceWithTip() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check(
            "start", "api", "--harness", "shell",
            "git commit -q --allow-empty -m one && git commit -q --allow-empty -m two && echo draft > notes.txt && touch done.flag; sleep 60")
        let worktree = sandbox.agentDirectory("api") + "/workspace"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: worktree + "/done.flag") })
        let tip = try sandbox.repository.git("rev-parse", "api")
        let short = try sandbox.repository.git("rev-parse", "--short", "api")

        let refused = try sandbox.scion("delete", "api")
        #expect(refused.status == 8)
        #expect(refused.stderr.contains("api has 2 commits not in main and 2 uncommitted files"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force") && refused.stderr.contains("its branch tip is \(short)"))
        #expect(try sandbox.agent("api") != nil && FileManager.default.fileExists(atPath: worktree + "/notes.txt"))
        #expect(try sandbox.agent("api")?["phase"] as? String == "running", "a refused delete stopped the agent")
        #expect(try sandbox.scion("delete", "api", "--non-interactive").status == 8)

        let forced = try sandbox.scion("delete", "api", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("deleted api"))
        #expect(forced.stdout.contains("its branch tip was \(short)"))
        #expect(forced.stdout.contains("git branch api \(tip)"))
        #expect(!(try sandbox.repository.branches()).contains("api"))
        _ = try sandbox.repository.git("branch", "api", tip)
        #expect(try sandbox.repository.git("log", "-2", "--format=%s", "api") == "two\none")
    }

    @Test("--format json reports what a forced delete threw away, with the tip and the recovery command")
    func jsonReportsDiscardedWork() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "api", "--harness", "shell", "git commit -q --allow-empty -m one && touch done.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("api") + "/workspace/done.flag") })
        let tip = try sandbox.repository.git("rev-parse", "api")
        let output = try sandbox.check("delete", "api", "--force", "--format", "json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(report["deleted"] as? [String] == ["api"])
        let discarded = try #require((report["discarded"] as? [[String: Any]])?.first)
        #expect(discarded["name"] as? String == "api")
        #expect(discarded["tip"] as? String == tip)
        #expect(discarded["commits"] as? Int == 1)
        #expect(discarded["uncommitted_files"] as? Int == 1)
        #expect(discarded["base_ref"] as? String == "main")
        #expect(discarded["recovery"] as? String == "git branch api \(tip)")
    }

    @Test("work merged into main, tagged or pushed is not at risk: delete needs no --force")
    func mergedWorkDeletesFreely() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "done", "--harness", "shell", "git commit -q --allow-empty -m finished && touch ../done.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("done") + "/done.flag") })
        _ = try sandbox.repository.git("merge", "-q", "--ff-only", "done")
        let result = try sandbox.scion("delete", "done")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "deleted done\n")
        #expect(!(try sandbox.repository.branches()).contains("done"))
    }

    @Test("what a killed command left half-made or half-removed is not the user's work: the next delete needs no --force",
          arguments: ["a delete killed while removing the worktree", "a start killed while checking out the worktree"])
    func halfRemovedWorktree(what: String) throws {
        let sandbox = try ScionSandbox()
        try sandbox.repository.directory.write("src/a.txt", "a\n")
        try sandbox.repository.directory.write("src/b.txt", "b\n")
        _ = try sandbox.repository.git("add", "src")
        _ = try sandbox.repository.git("commit", "-q", "-m", "sources")
        try sandbox.check("create", "half", "--harness", "shell", "true")
        let record = sandbox.agentDirectory("half") + "/agent.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: record))) as? [String: Any])
        // The state such a kill leaves: part of the checkout gone, the
        // record saying how far the command got.
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("half") + "/workspace/src/a.txt")
        if what.hasPrefix("a delete") {
            json["deletion_started_at"] = ISO8601DateFormatter().string(from: Date())
        } else {
            json["phase"] = "provisioning"
        }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: record))
        let result = try sandbox.scion("delete", "half", "--non-interactive")
        #expect(result.status == 0, "\(what): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("half")))
        #expect(!(try sandbox.repository.branches()).contains("half"))
    }

    @Test("a branch lock a start killed inside git left is removed by delete: the branch goes and the name starts again")
    func staleBranchLock() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("create", "lk", "--harness", "shell", "true")
        let lock = sandbox.path + "/.git/refs/heads/lk.lock"
        try "".write(toFile: lock, atomically: false, encoding: .utf8)
        let deleted = try sandbox.scion("delete", "lk", "--non-interactive")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lock))
        #expect(!(try sandbox.repository.branches()).contains("lk"), "scion's own branch was left behind")
        try sandbox.check("start", "lk", "--harness", "shell", "sleep 30")
        let record = try String(contentsOfFile: sandbox.agentDirectory("lk") + "/agent.json", encoding: .utf8)
        #expect(record.contains("\"created_branch\" : true"), "the new agent took its own branch for the user's: \(record)")
    }

    @Test("--preserve-branch keeps unmerged commits safe, but uncommitted files still need --force")
    func preserveBranch() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "keep", "--harness", "shell", "git commit -q --allow-empty -m kept && touch ../done.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("keep") + "/done.flag") })
        try sandbox.check("delete", "keep", "--preserve-branch")
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "keep") == "kept")

        try sandbox.check("start", "draft", "--harness", "shell", "echo draft > draft.txt && touch ../done.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("draft") + "/done.flag") })
        let refused = try sandbox.scion("delete", "draft", "--preserve-branch")
        #expect(refused.status == 8)
        #expect(refused.stderr.contains("draft has 1 uncommitted file; commit it, or delete with --force"), "\(refused.stderr)")
    }

    @Test("--yes answers the question; stop --rm follows the same policy")
    func yesAndStopRm() throws {
        let sandbox = try ScionSandbox()
        for name in ["a", "b"] {
            try sandbox.check("start", name, "--harness", "shell", "git commit -q --allow-empty -m work-of-\(name) && touch ../done.flag; sleep 60")
            #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory(name) + "/done.flag") })
        }
        let yes = try sandbox.scion("delete", "a", "--yes")
        #expect(yes.status == 0, "\(yes.stderr)")
        #expect(yes.stdout.contains("git branch a "))

        let refused = try sandbox.scion("stop", "b", "--rm")
        #expect(refused.status == 8)
        #expect(refused.stdout.contains("stopped b"))
        #expect(refused.stderr.contains("b has 1 commit not in main"))
        #expect(try sandbox.agent("b")?["phase"] as? String == "stopped")
        try sandbox.check("resume", "b")
        let forced = try sandbox.scion("stop", "b", "--rm", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("deleted b") && forced.stdout.contains("git branch b "))
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("on a terminal delete asks; n keeps the agent, y deletes it and prints the tip")
    func terminalPrompt() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "api", "--harness", "shell", "git commit -q --allow-empty -m one && touch ../done.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("api") + "/done.flag") })
        let short = try sandbox.repository.git("rev-parse", "--short", "api")
        for answer in ["n", "y"] {
            // sh reports scion's exit status on the screen: the pane's own
            // death is not reliable (a tmux server started from a test
            // thread may never reap it).
            let terminal = try TerminalSession(
                running: ["sh", "-c", #""$0" "$@"; echo "[exit $?]""#, BuildProducts.scion, "-g", sandbox.path, "delete", "api"],
                environment: sandbox.environment)
            #expect(Shell.eventually(timeout: 30) { terminal.screen().contains("delete anyway? [y/N]") }, "\(terminal.screen())")
            #expect(terminal.screen().contains("api has 1 commit not in main (its branch tip is \(short))"))
            try terminal.type(answer, "Enter")
            #expect(Shell.eventually(timeout: 30) { terminal.screen().contains("[exit ") }, "\(terminal.screen())")
            if answer == "n" {
                #expect(terminal.screen().contains("[exit 8]"), "\(terminal.screen())")
                #expect(try sandbox.agent("api") != nil)
            } else {
                #expect(terminal.screen().contains("[exit 0]"), "\(terminal.screen())")
                #expect(terminal.screen().contains("its branch tip was \(short)"))
                #expect(try sandbox.agent("api") == nil)
            }
        }
    }

    // MARK: races (defect 13)

    @Test("ten concurrent deletes of one agent: exactly one deletes it, the others say there is no such agent")
    func tenConcurrentDeletes() async throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "x", "--harness", "shell", "sleep 60")
        let results = try await withThrowingTaskGroup(of: Shell.Result.self) { group in
            for _ in 0..<10 { group.addTask { try sandbox.scion("delete", "x") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let deleted = results.filter { $0.status == 0 }
        #expect(deleted.count == 1, "\(results.map { "\($0.status): \($0.stdout)\($0.stderr)" })")
        #expect(deleted.first?.stdout == "deleted x\n")
        for result in results where result.status != 0 {
            #expect(result.status == 3, "\(result.stderr)")
            #expect(result.stderr.contains("no agent named x"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("x")))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/.scion/agents")
        #expect(leftovers.isEmpty, "left in agents/: \(leftovers)")
    }

    @Test("deletes racing list and watch neither fail nor leave a folder behind")
    func deleteRacingListAndWatch() async throws {
        let sandbox = try ScionSandbox()
        let names = (1...8).map { "r\($0)" }
        for name in names { try sandbox.check("create", name, "--harness", "shell", "true") }
        // Records in a transient phase make list and watch look at each lock.
        for name in names {
            let path = sandbox.agentDirectory(name) + "/agent.json"
            let record = try String(contentsOfFile: path, encoding: .utf8)
            try record.replacingOccurrences(of: "\"phase\" : \"created\"", with: "\"phase\" : \"starting\"")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: BuildProducts.scion)
        watch.arguments = ["-g", sandbox.path, "watch", "--interval", "0.01"]
        watch.environment = sandbox.environment
        watch.standardOutput = FileHandle.nullDevice
        let watchErrors = Pipe()
        watch.standardError = watchErrors
        try watch.run()
        let results = try await withThrowingTaskGroup(of: (String, Shell.Result).self) { group in
            for index in 0..<3 {
                group.addTask {
                    var last = try sandbox.scion("list")
                    for _ in 0..<15 where last.status == 0 && last.stderr.isEmpty {
                        last = try sandbox.scion("list")
                    }
                    return ("list \(index)", last)
                }
            }
            for name in names { group.addTask { ("delete \(name)", try sandbox.scion("delete", name)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        watch.terminate()
        watch.waitUntilExit()
        let watchStderr = String(decoding: watchErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!watchStderr.contains("NSCocoaErrorDomain") && !watchStderr.contains("error:"), "watch: \(watchStderr)")
        for (what, result) in results {
            #expect(result.status == 0, "\(what): \(result.stderr)")
            #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(what): \(result.stderr)")
        }
        for name in names {
            #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory(name)), "\(name)'s folder is left")
        }
    }

    // MARK: a name with no agent (defect 14)

    @Test("every per-agent command on a name with no agent says so, with exit 3", arguments: [
        ["stop", "nosuch"], ["stop", "nosuch", "--rm"], ["resume", "nosuch"], ["logs", "nosuch"], ["look", "nosuch"],
        ["message", "nosuch", "hello"], ["attach", "nosuch"], ["delete", "nosuch"],
    ])
    func missingAgent(arguments: [String]) throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion(arguments)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("no agent named nosuch in grove"), "\(result.stderr)")
        #expect(!result.stderr.contains("lock file"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("nosuch")))
    }

    /// Deleting several agents of a Linux-sized repository at once timed out
    /// on the grove lock while each delete held it for its whole tree.
    @Test("delete removes the worktree's files before it waits for the grove lock, and finishes once the lock is free")
    func worktreeFilesGoBeforeTheGroveLock() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("create", "bulky", "--harness", "shell", "true")
        let worktree = sandbox.agentDirectory("bulky") + "/workspace"
        #expect(FileManager.default.fileExists(atPath: worktree))
        var groveLock: FileLock? = try FileLock.acquire(sandbox.path + "/.scion/.grove.lock")
        let deletion = Blocking.start { Result { try sandbox.scion("delete", "bulky", "--force") } }
        #expect(Shell.eventually(timeout: 20) { !FileManager.default.fileExists(atPath: worktree) },
                "the worktree was not removed while the grove lock was held")
        #expect(FileManager.default.fileExists(atPath: sandbox.agentDirectory("bulky")), "delete finished without the grove lock")
        withExtendedLifetime(groveLock) {}
        groveLock = nil
        let result = try deletion.wait().get()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try sandbox.agent("bulky") == nil)
        #expect(!(try sandbox.repository.branches()).contains("bulky"))
    }
}
