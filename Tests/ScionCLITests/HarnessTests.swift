import Foundation
import ScionTestSupport
import Testing

/// The claude, gemini and codex harness plugins end to end on the local
/// runtime, driving honest stand-ins of the three CLIs
/// (Tests/Fixtures/harness-standin.sh).
@Suite("harnesses on the local runtime, through stand-ins of claude, gemini and codex", .serialized)
struct HarnessTests {
    struct Expected: Sendable, CustomStringConvertible {
        var harness: String
        var start: [String]
        var resume: [String]
        var hookFile: String?
        var instructionsFile: String
        var description: String { harness }
    }

    static let expectations = [
        Expected(
            harness: "claude",
            start: ["--dangerously-skip-permissions", "--model", "opus", "fix the bug"],
            resume: ["--dangerously-skip-permissions", "--continue", "--model", "opus", "add a test"],
            hookFile: ".claude/settings.json", instructionsFile: ".claude/CLAUDE.md"),
        Expected(
            harness: "gemini",
            start: ["--yolo", "--model", "opus", "--prompt-interactive", "fix the bug"],
            resume: ["--yolo", "--resume", "latest", "--model", "opus", "--prompt-interactive", "add a test"],
            hookFile: ".gemini/settings.json", instructionsFile: ".gemini/GEMINI.md"),
        Expected(
            harness: "codex",
            start: ["--dangerously-bypass-approvals-and-sandbox", "--model", "opus", "fix the bug"],
            resume: ["resume", "--last", "--dangerously-bypass-approvals-and-sandbox", "--model", "opus", "add a test"],
            hookFile: nil, instructionsFile: ".codex/AGENTS.md"),
    ]

    static let claudeEvents = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification", "Stop", "SessionEnd"]
    static let geminiEvents = ["SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "Notification", "SessionEnd"]

    @Test("start and resume run the harness's exact argv; its config files wire every hook to scion-agent", arguments: expectations)
    func argvConfigAndHooks(_ expected: Expected) throws {
        let (sandbox, _) = try TestRuntime.local.sandbox()
        Secrets.giveEveryHarnessAKey(sandbox)
        try sandbox.check("config", "set", "harness_configs.\(expected.harness).model", "opus")
        try sandbox.check("start", "a", "--harness", expected.harness, "fix the bug")
        let home = HarnessScenarios.home(sandbox, "a")
        let start = try #require(HarnessStandIns.record(home: home, harness: expected.harness))
        #expect(start.argv == expected.start)
        HarnessScenarios.expectActivity(sandbox, "a", "waiting_for_input", message: "done: fix the bug")

        let helper = TestRuntime.local.agentHelper
        switch expected.harness {
        case "claude":
            let settings = try Self.json(home + "/.claude/settings.json")
            for event in Self.claudeEvents {
                #expect(Self.hookCommand(settings, event) == "\(helper) hook --harness claude \(event)")
            }
            #expect((settings["permissions"] as? [String: Any])?["defaultMode"] as? String == "bypassPermissions")
            let claudeJSON = try Self.json(home + "/.claude.json")
            let projects = claudeJSON["projects"] as? [String: [String: Any]]
            #expect(projects?[sandbox.agentDirectory("a") + "/workspace"]?["hasTrustDialogAccepted"] as? Bool == true)
            #expect(claudeJSON["hasCompletedOnboarding"] as? Bool == true)
        case "gemini":
            let settings = try Self.json(home + "/.gemini/settings.json")
            for event in Self.geminiEvents {
                #expect(Self.hookCommand(settings, event) == "\(helper) hook --harness gemini \(event)")
            }
            #expect(((settings["security"] as? [String: Any])?["auth"] as? [String: Any])?["selectedType"] as? String == "gemini-api-key")
        default:
            let config = try String(contentsOfFile: home + "/.codex/config.toml", encoding: .utf8)
            #expect(config.contains("notify = [\"\(helper)\", \"hook\", \"--harness\", \"codex\", \"notify\"]"))
            #expect(config.contains(#"approval_policy = "never""#))
        }
        let instructions = try String(contentsOfFile: home + "/" + expected.instructionsFile, encoding: .utf8)
        #expect(instructions.contains("# You are scion agent a"))
        #expect(instructions.contains("on branch `a`"))
        #expect(instructions.contains("scion status ask_user"))
        let events = try String(contentsOfFile: home + "/.scion/events.jsonl", encoding: .utf8)
        #expect(events.contains("\"harness\":\"\(expected.harness)\""), "no hook event was recorded")
        #expect(HarnessStandIns.notes(home: home, harness: expected.harness).isEmpty, "the stand-in noted problems")

        try sandbox.check("stop", "a")
        try sandbox.check("resume", "a", "add a test")
        let resumed = try #require(HarnessStandIns.record(home: home, harness: expected.harness, run: 2))
        #expect(resumed.argv == expected.resume)
        HarnessScenarios.expectActivity(sandbox, "a", "waiting_for_input", message: "done: add a test")
    }

    @Test("claude goes thinking, executing, waiting_for_input, blocked and completed through its hooks")
    func claudeStatusCycle() throws {
        try HarnessScenarios.statusCycle(.local, harness: "claude")
    }

    @Test("gemini goes thinking, executing, waiting_for_input, blocked and completed through its hooks")
    func geminiStatusCycle() throws {
        try HarnessScenarios.statusCycle(.local, harness: "gemini")
    }

    @Test("codex reports each finished turn through notify; its exit completes it")
    func codexStatus() throws {
        let (sandbox, _) = try TestRuntime.local.sandbox()
        Secrets.giveEveryHarnessAKey(sandbox)
        try sandbox.check("start", "port", "--harness", "codex", "port utils.py")
        HarnessScenarios.expectActivity(sandbox, "port", "waiting_for_input", message: "done: port utils.py")
        try sandbox.check("message", "port", "ask which Swift version?")
        HarnessScenarios.expectActivity(sandbox, "port", "waiting_for_input", message: "which Swift version?")
        try sandbox.check("message", "port", "/exit")
        HarnessScenarios.expectActivity(sandbox, "port", "completed", message: "the codex harness exited with status 0")
    }

    @Test("each agent gets only its own harness's credentials; no secret in records, list, argv or output")
    func credentialIsolation() throws {
        try HarnessScenarios.credentialIsolation(.local)
    }

    @Test("--no-auth gives the agent no credentials even when the host has them")
    func noAuth() throws {
        let (sandbox, _) = try TestRuntime.local.sandbox()
        sandbox.extraEnvironment["ANTHROPIC_API_KEY"] = Secrets.anthropicKey
        try sandbox.home.write(".claude/.credentials.json", #"{"claudeAiOauth":{"accessToken":"CLAUDE-SECRET-file"}}"#)
        try sandbox.check("start", "bare", "--harness", "claude", "--no-auth", "look around")
        let home = HarnessScenarios.home(sandbox, "bare")
        let record = try #require(HarnessStandIns.record(home: home, harness: "claude"))
        #expect(record.env["ANTHROPIC_API_KEY"] == nil)
        #expect(record.files[".claude/.credentials.json"] == nil)
        #expect(Secrets.leaked(in: record.text).isEmpty)
        let claudeJSON = try Self.json(home + "/.claude.json")
        #expect(claudeJSON["customApiKeyResponses"] == nil)
        let agent = try Self.json(sandbox.agentDirectory("bare") + "/agent.json")
        #expect(agent["no_auth"] as? Bool == true)
        #expect(agent["auth_method"] as? String == "none")
    }

    @Test("a missing credential is a clear error naming the methods that would work, and leaves nothing behind")
    func missingCredential() throws {
        let (sandbox, _) = try TestRuntime.local.sandbox()
        let missing = try sandbox.scion("start", "m", "--harness", "claude", "x")
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("error: ") && missing.stderr.contains("found no credentials"), "got: \(missing.stderr)")
        for method in ["api-key", "oauth-token", "credentials-file", "vertex-ai", "--no-auth"] {
            #expect(missing.stderr.contains(method), "the error does not name \(method)")
        }
        #expect(try sandbox.agents().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("m")))

        sandbox.extraEnvironment["ANTHROPIC_API_KEY"] = Secrets.anthropicKey
        let unavailable = try sandbox.scion("start", "m", "--harness", "claude", "--harness-auth", "oauth-token", "x")
        #expect(unavailable.status != 0)
        #expect(unavailable.stderr.contains("asked for auth method oauth-token"), "got: \(unavailable.stderr)")
        #expect(unavailable.stderr.contains("Available now: api-key"))
        #expect(Secrets.leaked(in: unavailable.stderr).isEmpty)

        let unknown = try sandbox.scion("start", "m", "--harness", "gemini", "--harness-auth", "telepathy", "x")
        #expect(unknown.status == 2, "got \(unknown.status): \(unknown.stderr)")
        #expect(unknown.stderr.contains("valid methods: vertex-ai, api-key, oauth-file, none"), "got: \(unknown.stderr)")
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("notify.command runs once when an agent starts waiting for input, and again when it completes")
    func notifyOnce() throws {
        let (sandbox, standIns) = try TestRuntime.local.sandbox()
        Secrets.giveEveryHarnessAKey(sandbox)
        let notified = standIns.path("notified.txt")
        try Self.installNotifier(sandbox, standIns: standIns, log: notified)
        try sandbox.check("start", "n", "--harness", "claude", "write the docs")
        HarnessScenarios.expectActivity(sandbox, "n", "waiting_for_input")
        for _ in 0..<3 { try sandbox.check("list") }
        #expect(Shell.eventually { Self.lines(notified).count == 1 })
        usleep(300_000)
        #expect(Self.lines(notified) == ["n|waiting_for_input|done: write the docs|\(sandbox.path)/.scion"])

        try sandbox.check("message", "n", "/exit")
        HarnessScenarios.expectActivity(sandbox, "n", "completed")
        try sandbox.check("list")
        #expect(Shell.eventually { Self.lines(notified).count == 2 })
        usleep(300_000)
        #expect(Self.lines(notified).last == "n|completed|session ended: prompt_input_exit|\(sandbox.path)/.scion")
        #expect(Self.lines(notified).count == 2)
    }

    @Test("scion watch prints each transition as a JSON line and notifies without anyone running list")
    func watch() throws {
        let (sandbox, standIns) = try TestRuntime.local.sandbox(gated: true)
        Secrets.giveEveryHarnessAKey(sandbox)
        let notified = standIns.path("notified.txt")
        try Self.installNotifier(sandbox, standIns: standIns, log: notified)

        let outputPath = standIns.path("watch.jsonl")
        try Data().write(to: URL(fileURLWithPath: outputPath))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: BuildProducts.scion)
        watcher.arguments = ["watch", "--format", "json", "--interval", "0.2"]
        watcher.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        watcher.environment = sandbox.environment
        watcher.standardOutput = output
        try watcher.run()
        defer {
            watcher.terminate()
            watcher.waitUntilExit()
        }
        func changes() -> [[String: Any]] {
            Self.lines(outputPath).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }
        func saw(_ activity: String) -> Bool {
            Shell.eventually(timeout: 30) { changes().contains { $0["activity"] as? String == activity } }
        }

        try sandbox.check("start", "w", "--harness", "claude", "fix it")
        let home = HarnessScenarios.home(sandbox, "w")
        #expect(saw("thinking"))
        try HarnessStandIns.open(gate: "think", home: home)
        #expect(saw("executing"))
        try HarnessStandIns.open(gate: "tool", home: home)
        #expect(saw("waiting_for_input"))
        #expect(Shell.eventually { Self.lines(notified) == ["w|waiting_for_input|done: fix it|\(sandbox.path)/.scion"] })

        let activities = changes().filter { $0["agent"] as? String == "w" }.compactMap { $0["activity"] as? String }
        #expect(activities.suffix(3) == ["thinking", "executing", "waiting_for_input"], "watch printed \(activities)")
        let last = try #require(changes().last)
        #expect(last["previous_activity"] as? String == "executing")
        #expect(last["message"] as? String == "done: fix it")
        #expect(last["phase"] as? String == "running")
    }

    // MARK: helpers

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }

    /// The command of `event`'s single hook in a Claude or Gemini settings.json.
    static func hookCommand(_ settings: [String: Any], _ event: String) -> String? {
        let groups = (settings["hooks"] as? [String: Any])?[event] as? [[String: Any]]
        return (groups?.first?["hooks"] as? [[String: Any]])?.first?["command"] as? String
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// notify.command: a script (run as an argv) appending what it was told.
    static func installNotifier(_ sandbox: ScionSandbox, standIns: HarnessStandIns, log: String) throws {
        try standIns.write(
            "notify-recorder", "#!/bin/sh\nprintf '%s|%s|%s|%s\\n' \"$SCION_AGENT\" \"$SCION_ACTIVITY\" \"$SCION_MESSAGE\" \"$SCION_GROVE\" >> \"$1\"\n",
            executable: true)
        try sandbox.check("config", "set", "notify.command", "[\(standIns.path("notify-recorder")), \(log)]")
    }
}
