import Foundation

/// Telling a parent agent that its child completed or waits for input: a
/// line typed into the parent's pane (`agents.notify_parent`, default on),
/// so it need not poll. Sent once per change of the child's activity (the
/// same bookkeeping as notify.command), by whichever scion process sees the
/// change first: the parent's `scion wait`, a `scion list`, the child's own
/// `scion status` on the local runtime, or the grove broker's watch.
extension Orchestrator {
    static func parentNotice(child: String, _ activity: AgentActivity) -> String {
        let what: String
        switch activity.activity {
        case .completed: what = "completed"
        case .waitingForInput: what = "waits for input"
        default: what = activity.activity.rawValue
        }
        let message = activity.message.map { ": \(TerminalText.line($0))" } ?? ""
        let next = activity.activity == .completed
            ? "`scion diff \(child)` shows its work, `scion merge \(child)` brings it into your branch"
            : "`scion look \(child)` shows its screen, `scion message \(child) \"...\"` answers it"
        return "[scion] your child agent \(child) \(what)\(message). \(next)."
    }

    func notifyParent(of record: AgentRecord, _ activity: AgentActivity) {
        guard settings.agents.notifyParent, let parent = record.parent, store.exists(parent) else { return }
        let text = Self.parentNotice(child: record.name, activity)
        do {
            try message(parent, text, interrupt: false, notice: true)
        } catch {
            logger.info("cannot tell agent \(parent) that its child \(record.name) is \(activity.activity.rawValue): \(error)")
        }
    }
}
