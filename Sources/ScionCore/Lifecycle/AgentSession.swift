import Foundation
import ScionAgentEvents
import ScionPluginKit

/// Working with a running agent's tmux session: look, message, logs, attach.
extension Orchestrator {
    func runningTarget(_ name: String) throws -> (record: AgentRecord, target: AgentTarget, runtime: RuntimeClient) {
        let status = try self.status(name)
        guard let record = status.record, let handle = record.handle, status.phase == .running else {
            throw ScionError(.failedPrecondition, "agent \(name) is not running (phase \(status.phase.rawValue)); `scion resume \(name)` starts it again")
        }
        return (record, target(record, handle: handle), try runtime(for: record))
    }

    /// The agent's current screen.
    public func look(_ name: String) throws -> String {
        let (_, target, runtime) = try runningTarget(name)
        let result = try runtime.exec(target, ["tmux"] + Tmux.capture(SessionLayout()))
        guard result.exitCode == 0 else {
            throw ScionError(.internal, "cannot capture agent \(name)'s screen: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.stdout
    }

    /// Types `text` into the agent as a bracketed paste and presses Enter;
    /// with `interrupt`, first sends the harness's interrupt key.
    public func message(_ name: String, _ text: String, interrupt: Bool) throws {
        let (record, target, runtime) = try runningTarget(name)
        let layout = SessionLayout()
        if interrupt {
            let key = try harness(record.harness, wantedBy: "agent \(name)").describe().interruptKey
            _ = try runtime.exec(target, ["tmux"] + Tmux.sendKey(layout, key: key))
        }
        // New work ends a sticky activity (waiting_for_input, blocked,
        // completed). Recorded before typing, so it comes before whatever
        // the agent records in answer.
        do {
            try AgentEvents.recordInput(home: record.home)
        } catch {
            logger.warning("cannot record the message to agent \(name): \(error)")
        }
        let result = try runtime.exec(target, ["tmux"] + Tmux.pasteAndEnter(layout), stdin: text)
        guard result.exitCode == 0 else {
            throw ScionError(.internal, "cannot type into agent \(name): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// Sends `text` to every running agent; returns the names reached.
    public func broadcast(_ text: String, interrupt: Bool) throws -> [String] {
        let running = try list().filter { $0.phase == .running }.map(\.name)
        for name in running { try message(name, text, interrupt: interrupt) }
        return running
    }

    public func logs(_ name: String, tail: Int?, follow: Bool, chunk: @escaping (String) -> Bool) throws {
        let record = try store.load(name)
        guard let handle = record.handle else {
            throw ScionError(.failedPrecondition, "agent \(name) was never started, so it has no log")
        }
        try runtime(for: record).logs(
            LogsRequest(name: runtimeName(of: record), handle: handle, tail: tail, follow: follow), chunk: chunk)
    }

    /// The command that attaches the user's terminal to the agent's session.
    public func attachCommand(_ name: String) throws -> AttachCommand {
        let (_, target, runtime) = try runningTarget(name)
        return try runtime.attachCommand(target)
    }
}
