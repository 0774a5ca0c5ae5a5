import ScionPluginKit
import ScionHarnessSupport

/// Gemini CLI hook events (JSON on stdin: session_id, cwd, hook_event_name,
/// timestamp and the event's own fields) mapped to activities. The table is
/// in docs/harnesses/gemini.md.
enum GeminiHooks {
    static func normalize(_ event: HookEvent) -> ActivityUpdate {
        let payload = event.payload.objectValue ?? [:]
        let names = [event.event, payload["hook_event_name"]?.stringValue ?? ""]
        guard let name = names.first(where: { known.contains($0) }) else { return ActivityUpdate(activity: nil) }
        func field(_ key: String) -> String? { Text.nonEmpty(payload[key]?.stringValue) }

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
