import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// Getting a new worktree ready (issue 13): `.worktreeinclude` and
/// `worktree.copy` copy gitignored files, `worktree.symlink` links folders,
/// `worktree.setup` runs before the harness, through the built binary.
@Suite("worktree bootstrap, end to end", .serialized)
struct WorktreeBootstrapTests {
    /// A sandbox whose user settings (trusted, unlike the repository's) hold `worktree`.
    func sandbox(worktree yaml: String) throws -> ScionSandbox {
        let sandbox = try ScionSandbox()
        try FileManager.default.createDirectory(atPath: sandbox.home.path + "/.scion", withIntermediateDirectories: true)
        try "schema_version: \"1\"\nworktree:\n\(yaml)".write(
            toFile: sandbox.home.path + "/.scion/settings.yaml", atomically: true, encoding: .utf8)
        return sandbox
    }

    @Test("bootstrap copies the ignored files .worktreeinclude and worktree.copy list, links worktree.symlink folders, and nothing else")
    func copiesAndLinksExactly() throws {
        let sandbox = try sandbox(worktree: "  copy: [extra.txt]\n  symlink: [node_modules]\n")
        let repo = sandbox.repository.directory
        try repo.write(".gitignore", ".env\nsecret.txt\nextra.txt\nnode_modules/\nbuild/\nconfig/local/\n.scion/agents/\n")
        try repo.write(".worktreeinclude", "# copied into every agent\n.env\nconfig/local/*.json\n")
        _ = try sandbox.repository.git("add", ".gitignore", ".worktreeinclude")
        _ = try sandbox.repository.git("commit", "-q", "-m", "ignore rules")
        try repo.write(".env", "API_URL=http://localhost\n")
        try repo.write("secret.txt", "not listed\n")
        try repo.write("extra.txt", "from settings\n")
        try repo.write("node_modules/left-pad/index.js", "module.exports = 1\n")
        try repo.write("build/out.o", "binary\n")
        try repo.write("config/local/db.json", "{}\n")
        try repo.write("config/local/notes.txt", "not listed\n")
        try sandbox.check("create", "api", "--harness", "shell", "true")
        let worktree = sandbox.agentDirectory("api") + "/workspace"
        let fm = FileManager.default
        #expect(fm.contents(atPath: worktree + "/.env") == Data("API_URL=http://localhost\n".utf8))
        #expect(fm.contents(atPath: worktree + "/extra.txt") == Data("from settings\n".utf8))
        #expect(fm.contents(atPath: worktree + "/config/local/db.json") == Data("{}\n".utf8))
        #expect(!fm.fileExists(atPath: worktree + "/config/local/notes.txt"))
        #expect(!fm.fileExists(atPath: worktree + "/secret.txt"))
        #expect(!fm.fileExists(atPath: worktree + "/build"))
        #expect(try fm.destinationOfSymbolicLink(atPath: worktree + "/node_modules") == sandbox.path + "/node_modules")
        // Copied ignored files are no uncommitted work of the agent's.
        #expect(try sandbox.agent("api")?["dirty"] as? Bool == false)
    }

    @Test("worktree.setup runs in the worktree before the harness, with its output in the agent log")
    func setupRunsFirst() throws {
        let sandbox = try sandbox(worktree: "  setup: [sh, -c, \"echo hello-from-setup; touch setup-ran\"]\n")
        try sandbox.check("start", "api", "--harness", "shell", "test -f setup-ran && echo harness-saw-setup; sleep 60")
        let worktree = sandbox.agentDirectory("api") + "/workspace"
        #expect(FileManager.default.fileExists(atPath: worktree + "/setup-ran"))
        let log = sandbox.agentDirectory("api") + "/home/.scion/agent.log"
        #expect(Shell.eventually { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("harness-saw-setup") })
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("hello-from-setup"))
        try sandbox.check("delete", "api", "--force")
    }

    @Test("a failing setup fails the start with its exit status and last lines, and leaves no agent, branch or worktree")
    func failingSetupLeavesNothing() throws {
        let sandbox = try sandbox(worktree: "  setup: [sh, -c, \"echo first-line; echo boom-line >&2; exit 3\"]\n")
        let result = try sandbox.scion("start", "api", "--harness", "shell", "echo harness-ran; sleep 60")
        #expect(result.status != 0)
        #expect(result.stderr.contains("exited with status 3"), "\(result.stderr)")
        #expect(result.stderr.contains("boom-line"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("api")))
        #expect(try !sandbox.repository.branches().contains("api"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/.git/worktrees/scion-api"))
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("an untrusted repository's worktree.setup and worktree.symlink are skipped")
    func untrustedRepositorySettingsSkipped() throws {
        let sandbox = try ScionSandbox()
        try sandbox.repository.directory.write("node_modules/x.js", "1\n")
        try "schema_version: \"1\"\nworktree:\n  setup: [touch, planted]\n  symlink: [node_modules]\n".write(
            toFile: sandbox.path + "/.scion/settings.yaml", atomically: true, encoding: .utf8)
        let result = try sandbox.scion("create", "api", "--harness", "shell", "true")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("worktree.setup"))
        let worktree = sandbox.agentDirectory("api") + "/workspace"
        #expect(!FileManager.default.fileExists(atPath: worktree + "/node_modules"))
        let spec = try String(contentsOfFile: sandbox.agentDirectory("api") + "/spec.json", encoding: .utf8)
        #expect(!spec.contains("planted"))
    }

    /// The workers git started for a new worktree's checkout, from its trace2 events.
    static func checkoutWorkers(creating agent: String, in sandbox: ScionSandbox) throws -> Int {
        let trace = sandbox.home.path + "/trace2-\(agent).json"
        sandbox.extraEnvironment["GIT_TRACE2_EVENT"] = trace
        defer { sandbox.extraEnvironment["GIT_TRACE2_EVENT"] = nil }
        try sandbox.check("create", agent, "--harness", "shell", "true")
        let events = try String(contentsOfFile: trace, encoding: .utf8)
        return events.split(separator: "\n").filter { $0.contains(#""event":"child_start""#) && $0.contains("checkout--worker") }.count
    }

    @Test("a new worktree is checked out by git's parallel workers, unless the user's git config sets checkout.workers")
    func parallelCheckout() throws {
        let sandbox = try ScionSandbox()
        for index in 0..<150 {
            try FileManager.default.createDirectory(atPath: sandbox.path + "/src/\(index % 10)", withIntermediateDirectories: true)
            try "file \(index)\n".write(toFile: sandbox.path + "/src/\(index % 10)/f\(index).txt", atomically: false, encoding: .utf8)
        }
        _ = try sandbox.repository.git("add", "-A")
        _ = try sandbox.repository.git("commit", "-q", "-m", "150 files")

        #expect(try Self.checkoutWorkers(creating: "fast", in: sandbox) == ProcessInfo.processInfo.activeProcessorCount)
        let worktree = sandbox.agentDirectory("fast") + "/workspace"
        #expect(try Shell.check(["git", "-C", worktree, "status", "--porcelain"]).isEmpty)
        #expect(try String(contentsOfFile: worktree + "/src/7/f147.txt", encoding: .utf8) == "file 147\n")

        _ = try sandbox.repository.git("config", "checkout.workers", "1")
        #expect(try Self.checkoutWorkers(creating: "sequential", in: sandbox) == 0)
    }

    /// A `git` first on PATH that logs when a checkout (`reset`) starts and
    /// ends, holds it for a second, and fails it while `fail` exists.
    static func slowCheckoutGit(in folder: String, log: String, fail: String) throws {
        let realGit = try Shell.check(["sh", "-c", "command -v git"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let script = """
            #!/bin/sh
            case " $* " in
            *" reset "*)
                echo "start $(date +%s.%N)" >> \(log)
                sleep 1
                \(realGit) "$@"; status=$?
                echo "end $(date +%s.%N)" >> \(log)
                [ -e \(fail) ] && exit 1
                exit $status ;;
            esac
            exec \(realGit) "$@"

            """
        try script.write(toFile: folder + "/git", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/git")
    }

    @Test("two agents created at once check out side by side: git's checkout runs outside the grove lock")
    func checkoutsOverlap() throws {
        let sandbox = try ScionSandbox()
        let bin = try TemporaryDirectory()
        let log = bin.path + "/checkouts.log"
        try Self.slowCheckoutGit(in: bin.path, log: log, fail: bin.path + "/fail")
        sandbox.extraEnvironment["PATH"] = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let results = Blocking.map(["left", "right"]) { name in
            Result { try sandbox.scion("create", name, "--harness", "shell", "true") }
        }
        for result in results {
            let created = try result.get()
            #expect(created.status == 0, "\(created.stderr)")
        }
        let events = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        #expect(events.count == 4, "\(events)")
        // Both began before either ended: with the lock held they would follow each other.
        #expect(events.prefix(2).allSatisfy { $0.first == "start" }, "the checkouts ran one after the other: \(events)")
    }

    @Test("a checkout that fails after the worktree was made leaves no agent, branch or worktree")
    func failedCheckoutRollsBack() throws {
        let sandbox = try ScionSandbox()
        let bin = try TemporaryDirectory()
        try Self.slowCheckoutGit(in: bin.path, log: bin.path + "/checkouts.log", fail: bin.path + "/fail")
        _ = FileManager.default.createFile(atPath: bin.path + "/fail", contents: nil)
        sandbox.extraEnvironment["PATH"] = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try sandbox.scion("create", "broken", "--harness", "shell", "true")
        #expect(result.status != 0)
        #expect(result.stderr.contains("git could not check out the worktree"), "\(result.stderr)")
        #expect(try sandbox.agent("broken") == nil)
        #expect(!(try sandbox.repository.branches()).contains("broken"))
        #expect(!(try sandbox.repository.git("worktree", "list")).contains("broken"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("broken")))
    }
}
