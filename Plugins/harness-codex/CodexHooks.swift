import ScionPluginKit
import ScionHarnessSupport

/// Codex's `notify` program gets one JSON argument per event; today the only
/// type is "agent-turn-complete" (thread-id, turn-id, cwd, input-messages,
/// last-assistant-message). Codex's newer hooks (hooks.json, Claude-style
/// events on stdin) are not wired by provision — they need a per-hook trust
/// record — but are understood here for users who wire them themselves.
/// The table is in docs/harnesses/codex.md.
enum CodexHooks {
    static func normalize(_ event: HookEvent) -> ActivityUpdate {
        let hook = HookPayload(event)
        let payload = hook.object, field = hook.field

        if event.event == "notify" || field("type") != nil {
            guard field("type") == "agent-turn-complete" else { return ActivityUpdate(activity: nil) }
            return ActivityUpdate(
                activity: .waitingForInput, message: Text.summary(field("last-assistant-message")) ?? "turn complete")
        }

        switch [event.event, field("hook_event_name") ?? ""].first(where: { !$0.isEmpty }) {
        case "SessionStart":
            return ActivityUpdate(activity: .idle, message: field("source").map { "session \($0)" })
        case "UserPromptSubmit":
            return ActivityUpdate(activity: .thinking)
        case "PreToolUse":
            return ActivityUpdate(
                activity: .executing, message: ToolDetail.describe(tool: field("tool_name"), input: payload["tool_input"]))
        case "PostToolUse":
            return ActivityUpdate(activity: .thinking)
        case "PermissionRequest":
            return ActivityUpdate(
                activity: .waitingForInput,
                message: field("tool_name").map { "permission requested for \($0)" } ?? "permission requested")
        case "Stop":
            return ActivityUpdate(
                activity: .waitingForInput, message: Text.summary(field("last_assistant_message")) ?? "turn complete")
        default:
            return ActivityUpdate(activity: nil)
        }
    }
}
