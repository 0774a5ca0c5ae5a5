import ScionPluginKit
import ScionHarnessSupport

/// Gemini CLI hook events (JSON on stdin: session_id, cwd, hook_event_name,
/// timestamp and the event's own fields) mapped to activities. The table is
/// in docs/harnesses/gemini.md.
enum GeminiHooks {
    static func normalize(_ event: HookEvent) -> ActivityUpdate {
        let hook = HookPayload(event)
        guard let name = hook.eventName(event, known: known) else { return ActivityUpdate(activity: nil) }
        let payload = hook.object, field = hook.field

        switch name {
        case "SessionStart":
            return ActivityUpdate(activity: .idle, message: field("source").map { "session \($0)" })
        case "BeforeAgent":
            return ActivityUpdate(activity: .thinking)
        case "BeforeTool":
            return ActivityUpdate(
                activity: .executing, message: ToolDetail.describe(tool: field("tool_name"), input: payload["tool_input"]))
        case "AfterTool":
            return ActivityUpdate(activity: .thinking)
        case "AfterAgent":
            // The turn's final response is out; the session waits for the user.
            return ActivityUpdate(
                activity: .waitingForInput, message: Text.summary(field("prompt_response")) ?? "turn complete")
        case "Notification":
            // Only ToolPermission exists today: a tool waits for approval
            // (YOLO mode should not ask, but an untrusted folder would).
            return ActivityUpdate(
                activity: .waitingForInput, message: Text.summary(field("message")) ?? "approval requested")
        case "SessionEnd":
            return SessionEvents.ended(reason: field("reason"))
        default:
            return ActivityUpdate(activity: nil)
        }
    }

    static let known: Set<String> = [
        "SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "Notification", "SessionEnd",
    ]
}
