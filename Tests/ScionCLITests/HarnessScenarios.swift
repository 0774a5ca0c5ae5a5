import Foundation
import ScionTestSupport
import Testing

/// Credentials the tests plant on the "host" (the sandbox's environment and
/// home). Each value carries a marker no other text contains.
enum Secrets {
    static let anthropicKey = "sk-ant-api03-CLAUDE-SECRET-0123456789abcdefghij"
    static let openAIKey = "sk-proj-OPENAI-SECRET-0123456789abcdefghij"
    static let geminiKey = "AIza-GEMINI-KEY-SECRET-0123456789"
    static let geminiOAuthFile = #"{"access_token":"ya29.GEMINI-FILE-SECRET","refresh_token":"1//GEMINI-REFRESH-SECRET"}"#
    static let codexAuthFile = #"{"OPENAI_API_KEY":null,"tokens":{"access_token":"CODEX-FILE-SECRET"}}"#

    static let values = [anthropicKey, openAIKey, geminiKey, geminiOAuthFile, codexAuthFile]
    static let markers = [
        "CLAUDE-SECRET", "OPENAI-SECRET", "GEMINI-KEY-SECRET", "GEMINI-FILE-SECRET", "GEMINI-REFRESH-SECRET",
        "CODEX-FILE-SECRET",
    ]

    /// The markers found in `text` (none, hopefully).
    static func leaked(in text: String) -> [String] {
        markers.filter { text.contains($0) } + values.filter { text.contains(String($0.suffix(20))) }.map { "…" + $0.suffix(20) }
    }

    /// An API key for each harness, so agents can start.
    static func giveEveryHarnessAKey(_ sandbox: ScionSandbox) {
        sandbox.extraEnvironment["ANTHROPIC_API_KEY"] = anthropicKey
        sandbox.extraEnvironment["GEMINI_API_KEY"] = geminiKey
        sandbox.extraEnvironment["OPENAI_API_KEY"] = openAIKey
    }
}

/// End-to-end scenarios that run on every runtime: the local runtime's
/// suite and the docker suite call them.
enum HarnessScenarios {
    static func home(_ sandbox: ScionSandbox, _ agent: String) -> String { sandbox.agentDirectory(agent) + "/home" }

    /// The agent's activity and message as `scion list --format json` shows them.
    static func activity(_ sandbox: ScionSandbox, _ agent: String) -> (activity: String?, message: String?) {
        guard let entry = try? sandbox.agent(agent) else { return (nil, nil) }
        return (entry["activity"] as? String, entry["activity_message"] as? String)
    }

    /// Waits until list shows `expected` (and `message`, when given).
    static func expectActivity(
        _ sandbox: ScionSandbox, _ agent: String, _ expected: String, message: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let reached = Shell.eventually(timeout: 30) {
            let now = activity(sandbox, agent)
            return now.activity == expected && (message == nil || now.message == message)
        }
        let now = activity(sandbox, agent)
        #expect(
            reached, "agent \(agent) shows \(now.activity ?? "no activity") (\(now.message ?? "no message")), expected \(expected)\(message.map { " (\($0))" } ?? "")",
            sourceLocation: sourceLocation)
    }

    /// A full cycle through the harness's own hooks: thinking, executing,
    /// waiting_for_input, an explicit ask_user and blocked from inside a
    /// tool call, new work, and completed when the session ends.
    static func statusCycle(_ runtime: TestRuntime, harness: String) throws {
        let (sandbox, _) = try runtime.sandbox(gated: true)
        Secrets.giveEveryHarnessAKey(sandbox)
        try sandbox.check("start", "cycle", "--harness", harness, "fix the flaky test")
        let home = home(sandbox, "cycle")
        let tool = harness == "claude" ? "Bash" : "run_shell_command"

        expectActivity(sandbox, "cycle", "thinking")
        try HarnessStandIns.open(gate: "think", home: home)
        expectActivity(sandbox, "cycle", "executing", message: "\(tool): echo working on: fix the flaky test")
        try HarnessStandIns.open(gate: "tool", home: home)
        expectActivity(sandbox, "cycle", "waiting_for_input", message: "done: fix the flaky test")

        // Reports made from inside a tool call survive the tool's end and the turn's end.
        try sandbox.check("message", "cycle", "ask which database?")
        expectActivity(sandbox, "cycle", "waiting_for_input", message: "which database?")
        try sandbox.check("message", "cycle", "block need credentials")
        expectActivity(sandbox, "cycle", "blocked", message: "need credentials")
        try sandbox.check("message", "cycle", "use sqlite")
        expectActivity(sandbox, "cycle", "waiting_for_input", message: "done: use sqlite")

        // The session's end, from its own hook; the exit that follows keeps it.
        try sandbox.check("message", "cycle", "/exit")
        let reason = harness == "claude" ? "prompt_input_exit" : "exit"
        expectActivity(sandbox, "cycle", "completed", message: "session ended: \(reason)")
        #expect(Shell.eventually { (try? sandbox.agent("cycle")?["exit_code"] as? Int) == 0 })
        #expect(activity(sandbox, "cycle").message == "session ended: \(reason)")
        let table = try sandbox.check("list")
        #expect(table.contains("cycle") && table.contains("completed"))
        #expect(HarnessStandIns.notes(home: home, harness: harness).isEmpty, "the stand-in noted problems")
    }

    /// Three agents with three harnesses: each gets its own harness's
    /// credential (env or file) and none of the others'; no secret shows
    /// in records, list, process arguments or output.
    static func credentialIsolation(_ runtime: TestRuntime) throws {
        let (sandbox, _) = try runtime.sandbox()
        sandbox.extraEnvironment["ANTHROPIC_API_KEY"] = Secrets.anthropicKey
        sandbox.extraEnvironment["OPENAI_API_KEY"] = Secrets.openAIKey
        try sandbox.home.write(".gemini/oauth_creds.json", Secrets.geminiOAuthFile)
        try sandbox.home.write(".codex/auth.json", Secrets.codexAuthFile)

        var output = ""
        for (agent, arguments) in [
            ("c", ["--harness", "claude"]), ("g", ["--harness", "gemini"]),
            ("x", ["--harness", "codex", "--harness-auth", "auth-file"]),
        ] {
            let result = try sandbox.scion(["start", agent] + arguments + ["do the work"])
            #expect(result.status == 0, "start \(agent): \(result.stderr)")
            output += result.stdout + result.stderr
        }
        let claude = try #require(HarnessStandIns.record(home: home(sandbox, "c"), harness: "claude"))
        let gemini = try #require(HarnessStandIns.record(home: home(sandbox, "g"), harness: "gemini"))
        let codex = try #require(HarnessStandIns.record(home: home(sandbox, "x"), harness: "codex"))

        // claude: the API key in its environment, nothing of gemini's or codex's.
        #expect(claude.env["ANTHROPIC_API_KEY"] == Secrets.anthropicKey)
        #expect(claude.files[".gemini/oauth_creds.json"] == nil && claude.files[".codex/auth.json"] == nil)
        #expect(!claude.text.contains("OPENAI") && !claude.text.contains("GEMINI") && !claude.text.contains("CODEX-FILE"))

        // gemini: the OAuth file, 0600, with the host's content; no one else's secret.
        #expect(gemini.files[".gemini/oauth_creds.json"] == "600")
        #expect(try String(contentsOfFile: home(sandbox, "g") + "/.gemini/oauth_creds.json", encoding: .utf8) == Secrets.geminiOAuthFile)
        #expect(gemini.env["GEMINI_DEFAULT_AUTH_TYPE"] == "oauth-personal")
        #expect(gemini.env["ANTHROPIC_API_KEY"] == nil && gemini.env["OPENAI_API_KEY"] == nil)
        #expect(gemini.files[".claude/.credentials.json"] == nil && gemini.files[".codex/auth.json"] == nil)
        #expect(Secrets.leaked(in: gemini.text).isEmpty, "gemini saw \(Secrets.leaked(in: gemini.text))")

        // codex with --harness-auth auth-file: the file, 0600; not the OpenAI key that is also on the host.
        #expect(codex.files[".codex/auth.json"] == "600")
        #expect(try String(contentsOfFile: home(sandbox, "x") + "/.codex/auth.json", encoding: .utf8) == Secrets.codexAuthFile)
        #expect(codex.env["OPENAI_API_KEY"] == nil && codex.env["ANTHROPIC_API_KEY"] == nil)
        #expect(codex.files[".gemini/oauth_creds.json"] == nil)
        #expect(!codex.text.contains("OPENAI-SECRET") && !codex.text.contains("CLAUDE-SECRET"))

        // Nowhere else: records, list, process arguments, output.
        for agent in ["c", "g", "x"] {
            let record = try String(contentsOfFile: sandbox.agentDirectory(agent) + "/agent.json", encoding: .utf8)
            #expect(Secrets.leaked(in: record).isEmpty, "agent.json of \(agent) holds \(Secrets.leaked(in: record))")
        }
        let recorded = try ["c", "g", "x"].map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sandbox.agentDirectory($0) + "/agent.json"))) as? [String: Any]
        }
        #expect(recorded.map { $0?["auth_method"] as? String } == ["api-key", "oauth-file", "auth-file"])
        let list = try sandbox.scion("list", "--format", "json")
        #expect(Secrets.leaked(in: list.stdout + list.stderr).isEmpty)
        let processes = try Shell.run(["ps", "-eo", "args"]).stdout
        #expect(Secrets.leaked(in: processes).isEmpty, "a process argv holds \(Secrets.leaked(in: processes))")
        #expect(Secrets.leaked(in: output).isEmpty)
    }
}
