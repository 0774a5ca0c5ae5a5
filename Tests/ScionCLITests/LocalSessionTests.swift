import Foundation
import ScionTestSupport
import Testing

/// Working with running agents on the local runtime: attach on a real
/// terminal, following logs, interrupting, bulk stop and delete, and the
/// state a killed command leaves behind.
@Suite("local agent sessions, end to end", .serialized)
struct LocalSessionTests {
    @Test("attach puts a real terminal on the agent's session; the tmux prefix then d detaches")
    func attachAndDetach() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "web", "--harness", "shell", "echo agent-screen-marker; sleep 60")
        var environment = sandbox.environment
        environment["TERM"] = "xterm-256color"
        let terminal = try TerminalSession(running: [BuildProducts.scion, "-g", sandbox.path, "attach", "web"], environment: environment)
        #expect(Shell.eventually { terminal.screen().contains("agent-screen-marker") }, "screen: \(terminal.screen())")
        try terminal.type("C-b", "d")
        #expect(Shell.eventually { terminal.endedCleanly }, "attach did not end cleanly: \(terminal.screen())")
        #expect(try sandbox.agent("web")?["phase"] as? String == "running", "detaching must not stop the agent")
    }

    @Test("the user's ~/.tmux.conf is loaded into the agent's session; tmux.config in settings replaces it")
    func userTmuxConfig() throws {
        let sandbox = try ScionSandbox()
        try sandbox.home.write(".tmux.conf", "set-option -g @scion-test-config from-home\n")
        try sandbox.check("start", "own", "--harness", "shell", "sleep 60")
        func option(_ agent: String) throws -> String {
            let handle = try #require(try sandbox.agent(agent)?["handle"] as? String)
            return try Shell.run(["tmux", "show-options", "-gqv", "@scion-test-config"],
                                 environment: ["TMUX_TMPDIR": handle, "PATH": "/usr/bin:/bin"]).stdout
        }
        #expect(try option("own") == "from-home\n")
        try sandbox.home.write("agents.tmux.conf", "set-option -g @scion-test-config from-settings\n")
        try sandbox.check("config", "set", "tmux.config", sandbox.home.file("agents.tmux.conf"))
        try sandbox.check("start", "configured", "--harness", "shell", "sleep 60")
        #expect(try option("configured") == "from-settings\n")
    }

    @Test("attach without a terminal says so")
    func attachNeedsTerminal() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "web", "--harness", "shell", "sleep 60")
        let result = try sandbox.scion("attach", "web")
        #expect(result.status != 0)
        #expect(result.stderr.contains("attach needs a terminal"))
    }

    @Test("logs -f prints new output as it comes and ends when the agent stops")
    func followLogs() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "talker", "--harness", "shell", "echo first; read go; echo second; sleep 60")
        let output = try TemporaryDirectory()
        let logFile = output.file("follow.txt")
        let follower = try TerminalSession(
            running: ["sh", "-c", "\"$0\" -g \"$1\" logs -f talker > \"$2\"; echo exit=$? >> \"$2\"", BuildProducts.scion, sandbox.path, logFile],
            environment: sandbox.environment)
        #expect(Shell.eventually { (output.read("follow.txt") ?? "").contains("first") })
        try sandbox.check("message", "talker", "go")
        #expect(Shell.eventually { (output.read("follow.txt") ?? "").contains("second") })
        try sandbox.check("stop", "talker")
        #expect(Shell.eventually { (output.read("follow.txt") ?? "").contains("exit=0") }, "logs -f did not end: \(output.read("follow.txt") ?? "")")
        _ = follower
    }

    @Test("message --interrupt sends the harness's interrupt key before the text")
    func interrupt() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "busy", "--harness", "shell", "trap 'echo interrupted > int.txt' INT; sleep 60; read line; echo \"$line\" > line.txt; sleep 60")
        Thread.sleep(forTimeInterval: 0.3)
        try sandbox.check("message", "busy", "--interrupt", "after the interrupt")
        let workspace = sandbox.agentDirectory("busy") + "/workspace/"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: workspace + "int.txt") })
        #expect(Shell.eventually { (try? String(contentsOfFile: workspace + "line.txt", encoding: .utf8)) == "after the interrupt\n" })
    }

    @Test("stop --all stops every running agent; delete --stopped removes them")
    func bulkStopAndDelete() throws {
        let sandbox = try ScionSandbox()
        for name in ["a", "b", "c"] { try sandbox.check("start", name, "--harness", "shell", "sleep 60") }
        try sandbox.check("stop", "a")
        let stopped = try sandbox.check("stop", "--all", "--format", "json")
        #expect(stopped.contains("\"b\"") && stopped.contains("\"c\"") && !stopped.contains("\"a\""))
        #expect(try sandbox.agents().allSatisfy { $0["phase"] as? String == "stopped" })
        try sandbox.check("delete", "--stopped")
        #expect(try sandbox.agents().isEmpty)
        #expect(!(try sandbox.repository.branches()).contains("b"))
    }

    @Test("a command killed half-way leaves state that list explains and delete removes")
    func killedCommandLeavesCleanableState() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("create", "half", "--harness", "shell", "true")
        // What a `scion start` killed while provisioning leaves: a record in a
        // transient phase whose lock nobody holds.
        let recordPath = sandbox.agentDirectory("half") + "/agent.json"
        let record = try String(contentsOfFile: recordPath, encoding: .utf8)
        try record.replacingOccurrences(of: "\"phase\" : \"created\"", with: "\"phase\" : \"provisioning\"")
            .write(toFile: recordPath, atomically: true, encoding: .utf8)
        // And one killed before its record was written: only the folder.
        try FileManager.default.createDirectory(atPath: sandbox.agentDirectory("bare"), withIntermediateDirectories: true)
        let half = try #require(try sandbox.agent("half"))
        #expect(half["phase"] as? String == "error")
        #expect((half["detail"] as? String)?.contains("interrupted while provisioning") == true)
        #expect(try sandbox.agent("bare")?["phase"] as? String == "error")
        try sandbox.check("delete", "half", "bare")
        #expect(try sandbox.agents().isEmpty)
        #expect(!(try sandbox.repository.branches()).contains("half"))
        #expect(!(try sandbox.repository.git("worktree", "list")).contains("half"))
    }

    @Test("version, --version and nested commands after global options")
    func versionAndGlobalOptions() throws {
        let sandbox = try ScionSandbox()
        #expect(try sandbox.check("--version").hasPrefix("0."))
        #expect(try sandbox.check("version").contains("plugin ABI 1"))
        let plugins = try sandbox.scion("--format", "json", "--debug", "plugins", "list")
        #expect(plugins.status == 0, "got: \(plugins.stderr)")
        #expect(plugins.stderr.contains("loaded runtime plugin local in"))
    }
}
