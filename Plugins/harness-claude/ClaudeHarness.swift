import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// Claude Code (`claude`). Runs with `--dangerously-skip-permissions`; the
/// agent home gets `~/.claude.json` (onboarding done, the worktree trusted,
/// an API key pre-approved), `~/.claude/settings.json` (bypass mode, status
/// hooks) and `~/.claude/CLAUDE.md` (the agent's instructions).
/// See docs/harnesses/claude.md.
struct ClaudeHarness: HarnessPlugin {
    let description = HarnessDescription(
        plugin: PluginDescription(
            name: "claude", kind: "harness", version: "0.1.0",
            description: "Claude Code with permissions bypassed and status hooks"),
        authMethods: ClaudeAuth.methods, interruptKey: "Escape", supportsResume: true,
        clearInputKeys: ClaudeHarness.clearInputKeys)

    /// Pressed after Escape by `scion message --interrupt`: Claude Code
    /// 2.1.332 puts a prompt interrupted before any answer streamed back
    /// into its input box, where the message would be typed after it. Each
    /// Ctrl-U deletes to the start of the line, or the line break before
    /// it, and does nothing in an empty input; 32 empty a prompt of 16 lines
    /// (a longer paste shows as one "[Pasted text]" line). More arrive as
    /// one chunk that Claude Code 2.1.332 takes for pasted text ("Removed 64
    /// invisible characters from your prompt"; 40 still worked). Escape
    /// twice would open the rewind menu on an empty input, and Ctrl-C twice
    /// exits.
    static let clearInputKeys = Array(repeating: "C-u", count: 32)

    /// The hook events wired into settings.json. Newer events (StopFailure,
    /// PermissionRequest, PostToolUseFailure) are understood by
    /// normalizeHook but not wired, so older Claude Code versions do not
    /// reject the settings file over an event name they do not know.
    static let hookEvents = [
        "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification", "Stop", "SessionEnd",
    ]
    /// Events whose matcher is a tool name; "*" matches every tool.
    static let toolEvents: Set<String> = ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"]

    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        try ClaudeAuth.resolve(request)
    }

    func provision(_ request: ProvisionRequest) throws -> Provision {
        var files = [
            try claudeJSON(request),
            HomeFile(path: ".claude/settings.json", content: try settingsJSON(request), mode: 0o644),
        ]
        if let instructions = Text.nonEmpty(request.instructions) {
            files.append(HomeFile(path: ".claude/CLAUDE.md", content: Text.withNewline(instructions), mode: 0o644))
        }
        return Provision(
            command: command(request), env: environment(request), files: files,
            instructionsFile: ".claude/CLAUDE.md")
    }

    /// The harness config's env, plus `IS_SANDBOX=1` unless the config sets
    /// it: Claude Code refuses `--dangerously-skip-permissions` as root
    /// (uid 0) unless told it runs in a sandbox, and every scion agent runs
    /// with permissions bypassed in its own worktree and home (a container
    /// on a container runtime). Which uid the agent gets is the runtime's
    /// business (the host user's on local, docker and podman; the image's
    /// or pod's elsewhere), so the plugin cannot tell root from the rest;
    /// for a non-root agent it only tells Claude Code it is sandboxed. See
    /// docs/harnesses/claude.md ("Running as root").
    func environment(_ request: ProvisionRequest) -> [String: String] {
        var env = request.config.env
        if env[Self.sandboxVariable] == nil { env[Self.sandboxVariable] = "1" }
        return env
    }

    /// Claude Code's "this is a sandbox" switch (`IS_SANDBOX=1`).
    static let sandboxVariable = "IS_SANDBOX"

    /// `claude --dangerously-skip-permissions [--continue] [--model M]
    /// [--append-system-prompt S] [args] [task]`; a task too long for one
    /// argument becomes a prompt that points at the task file.
    func command(_ request: ProvisionRequest) -> [String] {
        var argv = ["claude", "--dangerously-skip-permissions"]
        if request.resume { argv.append("--continue") }
        if let model = Text.nonEmpty(request.config.model) { argv += ["--model", model] }
        if let systemPrompt = Text.nonEmpty(request.systemPrompt) {
            argv += ["--append-system-prompt", systemPrompt]
        }
        argv += request.config.args
        if let task = TaskArgument.prompt(request) {
            // A task that looks like an option must not be parsed as one.
            if task.hasPrefix("-") { argv.append("--") }
            argv.append(task)
        }
        return argv
    }

    /// `~/.claude.json`: first-run onboarding done, the bypass-permissions
    /// warning accepted (versions before 2.1.87 read it here), the trust
    /// dialog accepted for the worktree (and its main repository), and with api-key auth the key pre-approved by
    /// its last 20 characters, as Claude Code itself records it. The
    /// approval makes the file secret-bearing, so it is then 0600.
    func claudeJSON(_ request: ProvisionRequest) throws -> HomeFile {
        var root: [String: JSONValue] = [
            "hasCompletedOnboarding": .bool(true),
            "bypassPermissionsModeAccepted": .bool(true),
            // 2.1.3xx offers "Make auto mode your default permission mode?"
            // after the first turn when settings.json sets a defaultMode.
            "hasSeenAutoDefaultNudge": .bool(true),
            "projects": .object(
                Dictionary(
                    GitWorktree.trustedDirectories(for: request.workdir).map { directory in
                        (directory, JSONValue.object([
                            "hasTrustDialogAccepted": .bool(true),
                            "hasCompletedProjectOnboarding": .bool(true),
                            "projectOnboardingSeenCount": .number(1),
                            "allowedTools": .array([]),
                        ]))
                    }, uniquingKeysWith: { first, _ in first })),
        ]
        var mode = 0o644
        if let auth = request.auth, auth.method == "api-key", let key = Text.nonEmpty(auth.env["ANTHROPIC_API_KEY"]) {
            root["customApiKeyResponses"] = .object([
                "approved": .array([.string(String(key.suffix(20)))]),
                "rejected": .array([]),
            ])
            mode = 0o600
        }
        return HomeFile(path: ".claude.json", content: try JSONText.render(.object(root)), mode: mode)
    }

    /// `~/.claude/settings.json`: bypass mode as the default (so a later
    /// `claude --resume` typed by hand stays unattended too), the one-time
    /// bypass warning skipped (a top-level key since 2.1.87), and one hook
    /// per event running `hookCommand + [event]` with the event JSON on stdin.
    func settingsJSON(_ request: ProvisionRequest) throws -> String {
        var root: [String: JSONValue] = [
            "permissions": .object(["defaultMode": .string("bypassPermissions")]),
            "skipDangerousModePermissionPrompt": .bool(true),
        ]
        if let hookCommand = request.hookCommand, !hookCommand.isEmpty {
            var hooks: [String: JSONValue] = [:]
            for event in Self.hookEvents {
                var group: [String: JSONValue] = [
                    "hooks": .array([
                        .object([
                            "type": .string("command"),
                            "command": .string(Shell.join(hookCommand + [event])),
                            "timeout": .number(10),
                        ])
                    ])
                ]
                if Self.toolEvents.contains(event) { group["matcher"] = .string("*") }
                hooks[event] = .array([.object(group)])
            }
            root["hooks"] = .object(hooks)
        }
        return try JSONText.render(.object(root))
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        ClaudeHooks.normalize(event)
    }
}
