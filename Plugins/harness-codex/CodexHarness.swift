import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// OpenAI Codex CLI (`codex`). Runs with
/// `--dangerously-bypass-approvals-and-sandbox`; the agent home gets
/// `~/.codex/config.toml` (never ask, no sandbox, the worktree trusted,
/// `notify` pointing at the status hook), `~/.codex/AGENTS.md` (system
/// prompt and instructions) and, with api-key auth, `~/.codex/auth.json`.
/// See docs/harnesses/codex.md.
struct CodexHarness: HarnessPlugin {
    let description = HarnessDescription(
        plugin: PluginDescription(
            name: "codex", kind: "harness", version: "0.1.0",
            description: "OpenAI Codex CLI without approvals or sandbox, with turn-complete notifications"),
        authMethods: CodexAuth.methods, interruptKey: "C-c", supportsResume: true)

    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        try CodexAuth.resolve(request)
    }

    func provision(_ request: ProvisionRequest) throws -> Provision {
        var files = [HomeFile(path: ".codex/config.toml", content: configTOML(request), mode: 0o644)]
        let agentsMD = [Text.nonEmpty(request.systemPrompt), Text.nonEmpty(request.instructions)].compactMap { $0 }
        if !agentsMD.isEmpty {
            files.append(
                HomeFile(path: ".codex/AGENTS.md", content: Text.withNewline(agentsMD.joined(separator: "\n\n")), mode: 0o644))
        }
        if let auth = try CodexAuth.authJSON(request.auth) {
            files.append(auth)
        }
        return Provision(
            command: command(request), env: request.config.env, files: files, instructionsFile: ".codex/AGENTS.md")
    }

    /// Start: `codex --dangerously-bypass-approvals-and-sandbox [--model M]
    /// [task] [args]`; resume: `codex resume --last` with the same flags
    /// (the resume subcommand takes the interactive flags itself). A task
    /// too long for one argument becomes a prompt that points at the task file.
    func command(_ request: ProvisionRequest) -> [String] {
        var argv = request.resume ? ["codex", "resume", "--last"] : ["codex"]
        argv.append("--dangerously-bypass-approvals-and-sandbox")
        if let model = Text.nonEmpty(request.config.model) { argv += ["--model", model] }
        if let task = TaskArgument.prompt(request) {
            if task.hasPrefix("-") {
                // An option-like task goes after "--", so the args move before it.
                argv += request.config.args + ["--", task]
                return argv
            }
            argv.append(task)
        }
        return argv + request.config.args
    }

    /// `~/.codex/config.toml`. Root keys come before the tables.
    func configTOML(_ request: ProvisionRequest) -> String {
        var lines = [
            "# Written by scion for agent \(Text.summary(request.agent, limit: 80) ?? "?"); rewritten on every start.",
            "approval_policy = \(TOML.string("never"))",
            "sandbox_mode = \(TOML.string("danger-full-access"))",
        ]
        if let hookCommand = request.hookCommand, !hookCommand.isEmpty {
            // Codex runs this argv with the notification JSON appended as
            // one more argument (not on stdin).
            lines.append("notify = \(TOML.array(hookCommand + ["notify"]))")
        }
        for directory in GitWorktree.trustedDirectories(for: request.workdir) {
            lines += ["", "[projects.\(TOML.string(directory))]", "trust_level = \(TOML.string("trusted"))"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        CodexHooks.normalize(event)
    }
}

/// TOML basic strings: `"` and `\` escaped, control characters as escapes.
enum TOML {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(format: "%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func array(_ items: [String]) -> String {
        "[" + items.map(string).joined(separator: ", ") + "]"
    }
}
