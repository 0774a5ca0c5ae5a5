import Foundation
import ScionAgentEvents
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// An agent's screen as `look` shows it.
public struct AgentScreen: Sendable, Encodable {
    public var name: String
    public var screen: String
    /// The harness has exited; `screen` is its last screen.
    public var harnessExited: Bool
    public var exitStatus: Int?

    enum CodingKeys: String, CodingKey {
        case name, screen, harnessExited = "harness_exited", exitStatus = "exit_status"
    }
}

/// What `message --broadcast` did for one agent.
public struct BroadcastResult: Sendable, Encodable {
    public var name: String
    public var sent: Bool
    /// Why the message did not reach the agent.
    public var reason: String?

    public init(name: String, sent: Bool, reason: String? = nil) {
        self.name = name
        self.sent = sent
        self.reason = reason
    }
}

struct PaneState: Sendable {
    var dead: Bool
    var exitStatus: Int?
}

/// Working with a running agent's tmux session: look, message, logs, attach.
extension Orchestrator {
    func runningTarget(_ name: String) throws -> (record: AgentRecord, target: AgentTarget, runtime: any RuntimeDriver) {
        let status = try self.status(name)
        guard let record = status.record, let handle = record.handle, status.phase == .running else {
            throw ScionError(.failedPrecondition, "agent \(name) is not running (phase \(status.phase.rawValue)); `scion resume \(name)` starts it again")
        }
        let runtime = try runtime(for: record)
        return (record, target(record, handle: handle), runtime)
    }

    /// Refuses `what` (look, message, attach) on a runtime without the
    /// tmux session the host drives through exec (capability
    /// `terminal_session`), instead of running tmux where there is none.
    func requireTerminalSession(_ name: String, _ runtime: any RuntimeDriver, for what: String) throws {
        guard try !runtime.capabilities().terminalSession else { return }
        throw ScionError(
            .unsupported,
            "agent \(name) runs on the \(runtime.name) runtime, which has no terminal session, so `scion \(what)` cannot reach it; `scion logs \(name)` shows its output")
    }

    /// The agent's current screen, or its last screen when its harness has
    /// exited, without trailing blank lines.
    public func look(_ name: String) throws -> AgentScreen {
        let (_, target, runtime) = try runningTarget(name)
        try requireTerminalSession(name, runtime, for: "look")
        let layout = SessionLayout()
        let pane = try paneState(name, target, runtime)
        // When the harness exits, tmux scrolls the pane up one line to
        // write "Pane is dead" on the last row: the last screen is then the
        // newest history line and every row but the last.
        let result = try runtime.exec(target, ["tmux"] + Tmux.capture(layout, includingLastHistoryLine: pane.dead))
        guard result.exitCode == 0 else {
            throw ScionError(.internal, "cannot capture agent \(name)'s screen: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var rows = result.stdout.components(separatedBy: "\n")
        if rows.last == "" { rows.removeLast() }
        if pane.dead, !rows.isEmpty { rows.removeLast() }
        while let last = rows.last, last.allSatisfy(\.isWhitespace) { rows.removeLast() }
        let text = rows.isEmpty ? "" : TerminalText.lines(rows.joined(separator: "\n")) + "\n"
        return AgentScreen(name: name, screen: text, harnessExited: pane.dead, exitStatus: pane.exitStatus)
    }

    /// Whether the harness in the agent window still runs, asked through
    /// the runtime (so it works inside containers): the pane's state, and
    /// the exit status the session wrapper wrote.
    func paneState(_ name: String, _ target: AgentTarget, _ runtime: any RuntimeDriver) throws -> PaneState {
        let layout = SessionLayout()
        let script = "tmux display-message -p -t \(layout.agentTarget) '#{pane_dead} #{pane_dead_status}' || exit; "
            + "cat \"$HOME/\(Tmux.exitPath)\" 2>/dev/null; exit 0"
        let result = try runtime.exec(target, ["sh", "-c", script])
        guard result.exitCode == 0 else {
            throw ScionError(.internal, "cannot reach agent \(name)'s tmux session: \(TerminalText.line(result.stderr))")
        }
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let fields = (lines.first ?? "").split(separator: " ").map(String.init)
        let dead = fields.first == "1"
        let written = lines.dropFirst().first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return PaneState(dead: dead, exitStatus: dead ? (written ?? fields.dropFirst().first.flatMap { Int($0) }) : nil)
    }

    static func harnessExited(_ name: String, _ pane: PaneState, interrupted: Bool = false) -> ScionError {
        let status = pane.exitStatus.map { " (exit status \($0))" } ?? ""
        let what = interrupted ? "the interrupt ended the harness of agent \(name)\(status), so the message was not sent"
            : "the harness of agent \(name) has exited\(status)"
        return ScionError(.failedPrecondition, "\(what); `scion resume \(name)` starts it again")
    }

    /// Types `text` into the agent as a bracketed paste and presses Enter;
    /// with `interrupt`, first sends the harness's interrupt key. Refuses,
    /// leaving the session as it is, when the harness has exited: tmux 3.3a
    /// crashes when text is pasted into a dead pane, which would end the
    /// session (and a container agent's container).
    public func message(_ name: String, _ text: String, interrupt: Bool) throws {
        try message(name, text, interrupt: interrupt, notice: false)
    }

    /// `notice`: scion's own line (a child's notice to its parent), journaled as a notice.
    func message(_ name: String, _ text: String, interrupt: Bool, notice: Bool) throws {
        let (record, target, runtime) = try runningTarget(name)
        try requireTerminalSession(name, runtime, for: "message")
        let layout = SessionLayout()
        var pane = try paneState(name, target, runtime)
        if pane.dead { throw Self.harnessExited(name, pane) }
        if interrupt {
            let description = try harness(record.harness, wantedBy: "agent \(name)").describe()
            _ = try runtime.exec(target, ["tmux"] + Tmux.ifPaneAlive(layout, Tmux.sendKey(layout, key: description.interruptKey)))
            // A harness the interrupt ends (the shell harness) needs a moment
            // to die; typing must not reach its dead pane.
            for _ in 0..<8 {
                usleep(25_000)
                pane = try paneState(name, target, runtime)
                if pane.dead { throw Self.harnessExited(name, pane, interrupted: true) }
            }
            // A harness that puts the interrupted prompt back into its input
            // box (Claude Code) would send it along with the message: empty
            // the input first, with the keys its plugin declares.
            if !description.clearInputKeys.isEmpty {
                _ = try runtime.exec(target, ["tmux"] + Tmux.ifPaneAlive(layout, Tmux.sendKeys(layout, keys: description.clearInputKeys)))
            }
        }
        // New work ends a sticky activity (waiting_for_input, blocked,
        // completed). Recorded before typing, so it comes before whatever
        // the agent records in answer.
        do {
            try recordInput(record)
        } catch {
            logger.warning("cannot record the message to agent \(name): \(error)")
        }
        // The paste itself checks the pane again, inside tmux, so a harness
        // that exits between the check above and now is still safe.
        let result = try runtime.exec(target, ["tmux"] + Tmux.pasteAndEnter(layout), stdin: text)
        guard result.exitCode == 0 else {
            throw ScionError(.internal, "cannot type into agent \(name): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if result.stdout.contains(Tmux.paneDeadMarker) {
            throw Self.harnessExited(name, (try? paneState(name, target, runtime)) ?? PaneState(dead: true, exitStatus: nil))
        }
        if notice {
            journal(name).append(.notice, text: text)
        } else {
            recordDelivery(to: name, text, from: authority.actor)
        }
    }

    /// A delivered message, in the receiver's journal and the sender's
    /// (an agent; the user has none).
    func recordDelivery(to name: String, _ text: String, from sender: String?) {
        journal(name).append(.messageReceived, peer: sender, text: text)
        if let sender { journal(sender).append(.messageSent, peer: name, text: text) }
    }

    /// Sends `text` to every running agent, going on after an agent that
    /// cannot take it; returns what happened to each.
    public func broadcast(_ text: String, interrupt: Bool) throws -> [BroadcastResult] {
        // An agent's broadcast reaches the others, not itself.
        let running = try list().filter { $0.phase == .running && $0.name != authority.actor }.map(\.name)
        return Blocking.map(running) { name in
            do {
                try self.message(name, text, interrupt: interrupt)
                return BroadcastResult(name: name, sent: true)
            } catch {
                let reason = (error as? ScionError)?.message ?? "\(error)"
                return BroadcastResult(name: name, sent: false, reason: reason)
            }
        }
    }

    /// Streams the agent's log; `cancellation` ends a follow from another
    /// thread (the CLI's Ctrl-C and SIGTERM), and the plugin sees it.
    public func logs(
        _ name: String, tail: Int?, follow: Bool, cancellation: PluginCancellation? = nil,
        chunk: @escaping (String) -> Bool
    ) throws {
        let record = try store.load(name)
        guard let handle = record.handle else {
            throw ScionError(.failedPrecondition, "agent \(name) was never started, so it has no log")
        }
        try runtime(for: record).logs(
            target(record, handle: handle), tail: tail, follow: follow, cancellation: cancellation, chunk: chunk)
    }

    /// The command that attaches the user's terminal to the agent's session.
    public func attachCommand(_ name: String) throws -> AttachCommand {
        let (_, target, runtime) = try runningTarget(name)
        try requireTerminalSession(name, runtime, for: "attach")
        return try runtime.attachCommand(target)
    }
}
