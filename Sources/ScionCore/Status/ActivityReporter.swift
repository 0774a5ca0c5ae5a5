import Foundation
import ScionPluginKit

/// Applies activity updates to an agent's status file, inside the agent.
/// waiting_for_input, blocked and completed are sticky: only new work
/// (thinking, executing) or another explicit report replaces them.
public struct ActivityReporter: Sendable {
    public let home: String

    public init(home: String) {
        self.home = home
    }

    public var current: AgentActivity? {
        FileManager.default.contents(atPath: home + "/" + AgentActivity.relativePath).flatMap {
            try? AgentStore.decoder.decode(AgentActivity.self, from: $0)
        }
    }

    /// Returns the activity written, or nil when the update changed nothing.
    @discardableResult
    public func apply(_ update: ActivityUpdate, explicit: Bool = false) throws -> AgentActivity? {
        guard let activity = update.activity else { return nil }
        if !explicit, let current, current.activity.isSticky, ![.thinking, .executing].contains(activity) {
            return nil
        }
        let next = AgentActivity(activity: activity, message: update.message)
        try AgentActivityWriter(home: home).write(next)
        return next
    }

    /// `scion status <kind>`: the words agents use to report.
    public static func explicitActivity(_ kind: String) throws -> Activity {
        switch kind {
        case "ask_user", "waiting_for_input": return .waitingForInput
        case "blocked": return .blocked
        case "task_completed", "completed", "done": return .completed
        case "working", "thinking": return .thinking
        default:
            throw ScionError(.invalidArgument, "unknown status \"\(kind)\": use ask_user, blocked, task_completed or working")
        }
    }
}
