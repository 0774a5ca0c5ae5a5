import Foundation
import ScionAgentEvents
import ScionPluginKit

/// How events change an agent's activity.
///
/// - waiting_for_input, blocked and completed are sticky: a hook event
///   replaces them only with new work (thinking, executing) or with the
///   session's end (completed).
/// - An explicit report (`scion status ...`) holds until the harness ends
///   the turn: agents report from inside a tool call, so the tool's own end
///   and the turn's end would otherwise overwrite the report at once.
/// - What the host itself knows (input it typed with `scion message`, the
///   harness's exit status) always applies.
enum ActivityRules {
    enum Source {
        /// A harness hook event, normalized by the harness plugin.
        case hook
        /// The agent's own report (`scion status`).
        case explicit
        /// The host: new input typed into the agent, or the harness's exit.
        case host
    }

    static func apply(_ update: ActivityUpdate, from source: Source, to status: inout AgentStatusFile, at date: Date) {
        guard let activity = update.activity else { return }
        switch source {
        case .explicit:
            status.heldUntilTurnEnd = true
        case .host:
            status.heldUntilTurnEnd = false
        case .hook:
            if status.heldUntilTurnEnd {
                if [.waitingForInput, .completed].contains(activity) { status.heldUntilTurnEnd = false }
                return
            }
            if let current = status.current, current.activity.isSticky, ![.thinking, .executing, .completed].contains(activity) {
                return
            }
        }
        if let current = status.current, current.activity == activity, current.message == update.message { return }
        status.current = AgentActivity(activity: activity, message: update.message, updatedAt: date)
        status.changes += 1
    }

    /// What an explicit report (`scion status <kind>`) means.
    static func activity(for kind: StatusKind) -> Activity {
        switch kind {
        case .askUser: return .waitingForInput
        case .blocked: return .blocked
        case .taskCompleted: return .completed
        case .working: return .thinking
        }
    }

    /// Activities worth telling the person about (`notify.command`).
    static let notified: Set<Activity> = [.waitingForInput, .completed]
}
