import ScionPluginKit
import ScionHarnessSupport

/// Claude Code hook events (JSON on stdin: session_id, cwd, hook_event_name
/// and the event's own fields) mapped to activities. The table is in
/// docs/harnesses/claude.md.
enum ClaudeHooks {
    static func normalize(_ event: HookEvent) -> ActivityUpdate {
        let hook = HookPayload(event)
        guard let name = hook.eventName(event, known: known) else { return ActivityUpdate(activity: nil) }
        let payload = hook.object, field = hook.field

        switch name {
        case "SessionStart":
            // Auto-compaction restarts the session mid-turn: no change then.
            if field("source") == "compact" { return ActivityUpdate(activity: nil) }
            return ActivityUpdate(activity: .idle, message: field("source").map { "session \($0)" })
        case "UserPromptSubmit":
            return ActivityUpdate(activity: .thinking)
        case "PreToolUse":
            return ActivityUpdate(
                activity: .executing, message: ToolDetail.describe(tool: field("tool_name"), input: payload["tool_input"]))
        case "PostToolUse", "PostToolUseFailure":
            return ActivityUpdate(activity: .thinking)
        case "PermissionRequest":
            return ActivityUpdate(
                activity: .waitingForInput,
                message: field("tool_name").map { "permission requested for \($0)" } ?? "permission requested")
        case "Notification":
            return notification(type: field("notification_type"), message: field("message"))
        case "Stop":
            // The turn ended; the interactive session now waits for the user.
            return ActivityUpdate(
                activity: .waitingForInput,
                message: Text.summary(field("last_assistant_message")) ?? "turn complete")
        case "StopFailure":
            let error = [field("error"), field("error_type"), field("message")].compactMap { $0 }.joined(separator: " ")
            let lowered = error.lowercased()
            let limited = ["rate_limit", "rate limit", "usage limit", "limit reached", "quota", "billing", "overloaded"]
                .contains { lowered.contains($0) }
            return ActivityUpdate(
                activity: limited ? .limitsExceeded : .blocked,
                message: Text.summary(error.isEmpty ? "the turn failed" : error))
        case "SessionEnd":
            return SessionEvents.ended(reason: field("reason"))
        default:
            return ActivityUpdate(activity: nil)
        }
    }

    static let known: Set<String> = [
        "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest",
        "Notification", "Stop", "StopFailure", "SessionEnd",
    ]

    /// permission_prompt, idle_prompt and elicitation_dialog mean Claude
    /// waits on a person; auth_success and others change nothing. Versions
    /// without notification_type are classified by their message text.
    static func notification(type: String?, message: String?) -> ActivityUpdate {
        let waiting: Bool
        switch type {
        case "permission_prompt", "idle_prompt", "elicitation_dialog": waiting = true
        case .some: waiting = false
        case .none:
            let text = message?.lowercased() ?? ""
            waiting = text.contains("permission") || text.contains("waiting for your input")
                || text.contains("needs your")
        }
        return waiting
            ? ActivityUpdate(activity: .waitingForInput, message: Text.summary(message))
            : ActivityUpdate(activity: nil)
    }
}
