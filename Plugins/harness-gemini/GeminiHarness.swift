import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// Gemini CLI (`gemini`). Runs with `--yolo`; the agent home gets
/// `~/.gemini/settings.json` (auth type preselected, folder trust off, status
/// hooks), `~/.gemini/trustedFolders.json` (the worktree trusted),
/// `~/.gemini/GEMINI.md` (instructions) and, with a system prompt,
/// `~/.gemini/system.md` named by GEMINI_SYSTEM_MD.
/// See docs/harnesses/gemini.md.
struct GeminiHarness: HarnessPlugin {
    let description = HarnessDescription(
        plugin: PluginDescription(
            name: "gemini", kind: "harness", version: "0.1.0",
            description: "Gemini CLI in YOLO mode with status hooks"),
        authMethods: GeminiAuth.methods, interruptKey: "C-c", supportsResume: true)

    /// The hook events wired into settings.json. BeforeModel, AfterModel and
    /// BeforeToolSelection are left out: AfterModel fires for every streamed
    /// chunk, and none of them changes the activity.
    static let hookEvents = [
        "SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "Notification", "SessionEnd",
    ]

    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        try GeminiAuth.resolve(request)
    }

    func provision(_ request: ProvisionRequest) throws -> Provision {
        var env = request.config.env
        var files = [
            HomeFile(path: ".gemini/settings.json", content: try settingsJSON(request), mode: 0o644),
            HomeFile(
                path: ".gemini/trustedFolders.json",
                content: try JSONText.render(
                    .object(Dictionary(
                        GitWorktree.trustedDirectories(for: request.workdir).map { ($0, JSONValue.string("TRUST_FOLDER")) },
                        uniquingKeysWith: { first, _ in first }))),
                mode: 0o644),
        ]
        if let instructions = Text.nonEmpty(request.instructions) {
            files.append(HomeFile(path: ".gemini/GEMINI.md", content: Text.withNewline(instructions), mode: 0o644))
        }
        if let systemPrompt = Text.nonEmpty(request.systemPrompt) {
            files.append(HomeFile(path: ".gemini/system.md", content: Text.withNewline(systemPrompt), mode: 0o644))
            // The home is at the same path inside a container as outside.
            env["GEMINI_SYSTEM_MD"] = request.home + "/.gemini/system.md"
        }
        return Provision(command: command(request), env: env, files: files, instructionsFile: ".gemini/GEMINI.md")
    }

    /// `gemini --yolo [--resume latest] [--model M] [args]
    /// [--prompt-interactive TASK]`; a task too long for one argument
    /// becomes a prompt that points at the task file.
    func command(_ request: ProvisionRequest) -> [String] {
        var argv = ["gemini", "--yolo"]
        if request.resume { argv += ["--resume", "latest"] }
        if let model = Text.nonEmpty(request.config.model) { argv += ["--model", model] }
        argv += request.config.args
        if let task = TaskArgument.prompt(request) {
            // yargs would read a task that starts with "-" as an option.
            argv += task.hasPrefix("-") ? ["--prompt-interactive=" + task] : ["--prompt-interactive", task]
        }
        return argv
    }

    /// `~/.gemini/settings.json` (the nested format of Gemini CLI 0.3+).
    func settingsJSON(_ request: ProvisionRequest) throws -> String {
        var security: [String: JSONValue] = [
            // The worktree is also listed in trustedFolders.json; with the
            // feature off no trust dialog can stop an unattended start.
            "folderTrust": .object(["enabled": .bool(false)])
        ]
        if let selectedType = GeminiAuth.selectedType(auth: request.auth, configured: request.config.authSelectedType) {
            security["auth"] = .object(["selectedType": .string(selectedType)])
        }
        var root: [String: JSONValue] = ["security": .object(security)]
        if let hookCommand = request.hookCommand, !hookCommand.isEmpty {
            root["hooksConfig"] = .object(["enabled": .bool(true)])
            var hooks: [String: JSONValue] = [:]
            for event in Self.hookEvents {
                hooks[event] = .array([
                    .object([
                        "hooks": .array([
                            .object([
                                "name": .string("scion-status"),
                                "type": .string("command"),
                                "command": .string(Shell.join(hookCommand + [event])),
                                "timeout": .number(10000),
                            ])
                        ])
                    ])
                ])
            }
            root["hooks"] = .object(hooks)
        }
        return try JSONText.render(.object(root))
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        GeminiHooks.normalize(event)
    }
}
