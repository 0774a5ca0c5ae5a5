import Foundation
import ScionTestSupport
import Testing

/// The whole lifecycle through the built `scion` binary on the local
/// runtime: real git worktrees, real tmux servers.
@Suite("local runtime lifecycle, end to end", .serialized)
struct LocalLifecycleTests {
    @Test("three agents started in parallel each commit in their own worktree without touching the others")
    func parallelAgentsCommitInTheirOwnWorktrees() async throws {
        let sandbox = try ScionSandbox()
        let statusBefore = try sandbox.repository.git("status", "--porcelain")
        let names = ["alpha", "beta", "gamma"]
        try await withThrowingTaskGroup(of: Shell.Result.self) { group in
            for name in names {
                group.addTask {
                    try sandbox.scion(
                        "start", name, "--harness", "shell",
                        "echo \(name) > \(name).txt && git add \(name).txt && git commit -q -m \(name)-work")
                }
            }
            for try await result in group {
                #expect(result.status == 0, "start failed: \(result.stderr)")
            }
        }
        for name in names {
            let committed = Shell.eventually {
                (try? sandbox.repository.git("log", "-1", "--format=%s", name)) == "\(name)-work"
            }
            #expect(committed, "agent \(name) did not commit on its branch")
            let files = try sandbox.repository.git("ls-tree", "--name-only", name).split(separator: "\n")
            #expect(files.sorted() == ["README.md", "\(name).txt"], "branch \(name) holds \(files)")
            let worktree = sandbox.agentDirectory(name) + "/workspace"
            for other in names where other != name {
                #expect(!FileManager.default.fileExists(atPath: worktree + "/\(other).txt"))
            }
        }
        #expect(try sandbox.repository.git("status", "--porcelain") == statusBefore, "the main checkout was touched")
        let author = try sandbox.repository.git("log", "-1", "--format=%an <%ae>", "alpha")
        #expect(author == "Test User <test@example.com>")
    }

    @Test("list shows phase, activity, harness, runtime and branch; an exited command is completed or failed")
    func listShowsStatus() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "ok", "--harness", "shell", "true")
        try sandbox.check("start", "bad", "--harness", "shell", "exit 7")
        try sandbox.check("start", "busy", "--harness", "shell", "sleep 30")
        #expect(Shell.eventually { (try? sandbox.agent("bad")?["exit_code"] as? Int) == 7 })
        let ok = try #require(try sandbox.agent("ok"))
        #expect(Shell.eventually { (try? sandbox.agent("ok")?["activity"] as? String) == "completed" })
        #expect(ok["phase"] as? String == "running")
        #expect(ok["harness_config"] as? String == "shell")
        #expect(ok["runtime"] as? String == "local")
        #expect(ok["branch"] as? String == "ok")
        #expect(try sandbox.agent("bad")?["activity"] as? String == "failed")
        #expect(try sandbox.agent("busy")?["activity"] == nil)
        let table = try sandbox.check("list")
        #expect(table.contains("NAME") && table.contains("busy") && table.contains("completed"))
    }

    @Test("stop and resume keep the worktree and the home")
    func stopAndResumeKeepState() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "keeper", "--harness", "shell", "echo run >> runs.txt; echo note >> \"$HOME/notes\"; sleep 60")
        let worktree = sandbox.agentDirectory("keeper") + "/workspace"
        let home = sandbox.agentDirectory("keeper") + "/home"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: home + "/notes") })
        try sandbox.check("stop", "keeper")
        #expect(try sandbox.agent("keeper")?["phase"] as? String == "stopped")
        #expect(FileManager.default.fileExists(atPath: worktree + "/runs.txt"))
        #expect(FileManager.default.fileExists(atPath: home + "/notes"))
        try sandbox.check("resume", "keeper")
        #expect(try sandbox.agent("keeper")?["phase"] as? String == "running")
        #expect(Shell.eventually { (try? String(contentsOfFile: worktree + "/runs.txt", encoding: .utf8)) == "run\nrun\n" })
        #expect(try String(contentsOfFile: home + "/notes", encoding: .utf8) == "note\nnote\n")
        let again = try sandbox.scion("resume", "keeper")
        #expect(again.status != 0)
        #expect(again.stderr.contains("already running"))
    }

    @Test("delete removes the process, worktree, branch and home; --preserve-branch keeps the branch")
    func deleteRemovesEverything() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "gone", "--harness", "shell", "git commit -q --allow-empty -m x; sleep 60")
        try sandbox.check("start", "kept", "--harness", "shell", "sleep 60")
        let handle = try #require(try sandbox.agent("gone")?["handle"] as? String)
        #expect(Shell.eventually { (try? sandbox.repository.git("log", "-1", "--format=%s", "gone")) == "x" })
        let tip = try sandbox.repository.git("rev-parse", "gone")
        #expect(try sandbox.scion("delete", "gone").status == 8, "an unmerged commit was deleted without --force")
        #expect(try sandbox.check("delete", "gone", "--force").contains("git branch gone \(tip)"))
        try sandbox.check("rm", "kept", "--preserve-branch")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("gone")))
        #expect(!FileManager.default.fileExists(atPath: handle), "the tmux server's folder is left behind")
        let branches = try sandbox.repository.branches()
        #expect(!branches.contains("gone"))
        #expect(branches.contains("kept"))
        #expect(!(try sandbox.repository.git("worktree", "list")).contains(".scion/agents"))
        let tmux = try Shell.run(["tmux", "has-session"], environment: ["TMUX_TMPDIR": handle, "PATH": "/usr/bin:/bin"])
        #expect(tmux.status != 0, "the agent's tmux server still runs")
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("a message arrives verbatim in the agent's pane; look shows the screen; logs has the output")
    func messageLookAndLogs() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "reader", "--harness", "shell", "read line; printf 'got:%s\\n' \"$line\" > got.txt; echo finished; sleep 60")
        let text = #"hello $(whoami) 'single' "double" `tick` ; done"#
        try sandbox.check("message", "reader", text)
        let got = sandbox.agentDirectory("reader") + "/workspace/got.txt"
        #expect(Shell.eventually { (try? String(contentsOfFile: got, encoding: .utf8)) == "got:\(text)\n" })
        #expect(Shell.eventually { (try? sandbox.check("look", "reader"))?.contains("finished") == true })
        let logs = try sandbox.check("logs", "reader")
        #expect(logs.contains("finished"))
        let tail = try sandbox.check("logs", "reader", "-n", "1")
        #expect(tail.split(separator: "\n").count <= 1)
    }

    @Test("list reconciles an agent whose tmux server was killed behind scion's back")
    func listReconcilesKilledAgent() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "victim", "--harness", "shell", "sleep 60")
        let handle = try #require(try sandbox.agent("victim")?["handle"] as? String)
        try Shell.check(["env", "TMUX_TMPDIR=\(handle)", "tmux", "kill-server"])
        #expect(try sandbox.agent("victim")?["phase"] as? String == "stopped")
        try sandbox.check("resume", "victim")
        #expect(try sandbox.agent("victim")?["phase"] as? String == "running")
    }

    @Test("twenty concurrent scion start processes leave twenty consistent records")
    func twentyConcurrentStarts() async throws {
        let sandbox = try ScionSandbox()
        let names = (1...20).map { "agent\($0)" }
        let results = try await withThrowingTaskGroup(of: (String, Shell.Result).self) { group in
            for name in names {
                group.addTask { (name, try sandbox.scion("start", name, "--harness", "shell", "sleep 60")) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for (name, result) in results {
            #expect(result.status == 0, "\(name): \(result.stderr)")
        }
        let agents = try sandbox.agents()
        #expect(agents.count == 20)
        #expect(agents.allSatisfy { $0["phase"] as? String == "running" })
        #expect(Set(agents.compactMap { $0["handle"] as? String }).count == 20)
        let worktrees = try sandbox.repository.git("worktree", "list").split(separator: "\n")
        #expect(worktrees.count == 21)
        #expect(Set(try sandbox.repository.branches()).isSuperset(of: names))
    }

    @Test("the same name started twice at once: one wins, the other gets a clear error")
    func duplicateNameRace() async throws {
        let sandbox = try ScionSandbox()
        let results = try await withThrowingTaskGroup(of: Shell.Result.self) { group in
            for _ in 0..<2 { group.addTask { try sandbox.scion("start", "twin", "--harness", "shell", "sleep 60") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0.status == 0 }.count == 1)
        let loser = try #require(results.first { $0.status != 0 })
        #expect(loser.stderr.contains("agent twin already exists"))
        #expect(try sandbox.agents().count == 1)
    }

    @Test("create provisions without launching; start launches it")
    func createThenStart() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("create", "later", "--harness", "shell", "echo launched > launched.txt; sleep 60")
        #expect(try sandbox.agent("later")?["phase"] as? String == "created")
        #expect(FileManager.default.fileExists(atPath: sandbox.agentDirectory("later") + "/workspace/README.md"))
        try sandbox.check("start", "later")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory("later") + "/workspace/launched.txt") })
    }

    @Test("with SCION_CHECKOUT=libgit2 libgit2 checks the worktree out, git sees it clean, and delete removes it")
    func libgit2Checkout() throws {
        let sandbox = try ScionSandbox()
        sandbox.extraEnvironment["SCION_CHECKOUT"] = "libgit2"
        try sandbox.check("create", "lg", "--harness", "shell", "true")
        let workspace = sandbox.agentDirectory("lg") + "/workspace"
        #expect(FileManager.default.fileExists(atPath: workspace + "/README.md"))
        #expect(try Shell.check(["git", "-C", workspace, "status", "--porcelain"]).isEmpty)
        #expect(try Shell.check(["git", "-C", workspace, "rev-parse", "--abbrev-ref", "HEAD"]) == "lg\n")
        try sandbox.check("delete", "lg")
        #expect(!FileManager.default.fileExists(atPath: workspace))
        #expect(!(try sandbox.repository.git("worktree", "list")).contains("workspace"))
    }

    @Test("an agent sees only its own environment: the profile's and harness config's env, not the caller's")
    func agentEnvironmentIsIsolated() throws {
        let sandbox = try ScionSandbox()
        sandbox.extraEnvironment["SECRET_OF_CALLER"] = "leak"
        try sandbox.check("config", "set", "profiles.local.env", "{PROFILE_VAR: from-profile}")
        try sandbox.check("start", "envy", "--harness", "shell", "env > env.txt; sleep 60")
        let file = sandbox.agentDirectory("envy") + "/workspace/env.txt"
        #expect(Shell.eventually { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("SCION_AGENT=envy") })
        let env = try String(contentsOfFile: file, encoding: .utf8)
        #expect(env.contains("PROFILE_VAR=from-profile"))
        #expect(env.contains("HOME=\(sandbox.agentDirectory("envy"))/home"))
        #expect(!env.contains("SECRET_OF_CALLER"))
    }
}
