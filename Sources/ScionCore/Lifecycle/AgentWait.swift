import Foundation
import ScionPluginKit

/// How a `scion wait` ended for one agent; each has its own exit status,
/// so a parent's script can branch on it.
public enum WaitOutcome: String, Sendable, Encodable, CaseIterable {
    case completed
    case waitingForInput = "waiting_for_input"
    case blocked
    /// The harness exited with a non-zero status, or the agent is in error.
    case failed
    /// Stopped (by `scion stop` or outside scion) before it reported an end.
    case stopped
    case timedOut = "timed_out"

    /// The exit status of `scion wait` (documented in docs/cli.md).
    public var exitCode: Int32 {
        switch self {
        case .completed: return 0
        case .waitingForInput: return 10
        case .blocked: return 11
        case .failed: return 12
        case .stopped: return 13
        case .timedOut: return 14
        }
    }

    /// What a status says about a wait, nil while the agent is still at work.
    init?(_ status: AgentStatus) {
        switch status.phase {
        case .running:
            switch status.activity {
            case .completed?: self = .completed
            case .waitingForInput?: self = .waitingForInput
            case .blocked?: self = .blocked
            case .failed?: self = .failed
            default: return nil
            }
        case .stopped:
            self = status.activity == .completed ? .completed : .stopped
        case .error:
            self = .failed
        case .created, .provisioning, .starting, .stopping:
            return nil
        }
    }
}

/// One agent's end of a wait.
public struct WaitResult: Sendable, Encodable {
    public var name: String
    public var outcome: WaitOutcome
    public var phase: AgentPhase?
    public var activity: Activity?
    public var message: String?
    public var exitCode: Int?

    enum CodingKeys: String, CodingKey {
        case name, outcome, phase, activity, message, exitCode = "exit_code"
    }
}

extension Orchestrator {
    /// Polls the agents (every `interval` seconds) until each one completes,
    /// waits for input, is blocked, fails or stops, or `timeout` passes; the
    /// results in the order given. An agent may wait only on its own descendants.
    public func wait(
        _ names: [String], timeout: TimeInterval?, interval: TimeInterval = 0.3, isCancelled: () -> Bool = { false }
    ) throws -> [WaitResult] {
        let lineage = self.lineage
        for name in names {
            guard store.exists(name) else { throw ScionError(.notFound, "no agent named \(name) in grove \(grove.root)") }
            try authority.requireDescendant(name, lineage: lineage, to: "wait on", journal: authority.actor.map(journal))
        }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var done: [String: WaitResult] = [:]
        while true {
            for name in names where done[name] == nil {
                let status: AgentStatus
                do {
                    status = try self.status(name)
                } catch let error as ScionError where error.code == .notFound {
                    throw ScionError(.notFound, "agent \(name) was deleted while waiting for it")
                }
                if let outcome = WaitOutcome(status) {
                    done[name] = WaitResult(
                        name: name, outcome: outcome, phase: status.phase, activity: status.activity,
                        message: status.activityMessage ?? status.detail, exitCode: status.exitCode)
                }
            }
            if done.count == names.count || isCancelled() { break }
            if let deadline, Date() >= deadline { break }
            usleep(useconds_t(interval * 1_000_000))
            Subprocess.reap()
        }
        return names.map { name in
            done[name] ?? WaitResult(name: name, outcome: .timedOut, phase: nil, activity: nil, message: nil, exitCode: nil)
        }
    }

    /// "30m", "90s", "2h", "1h30m" or plain seconds ("45").
    public static func duration(_ text: String) throws -> TimeInterval {
        if let seconds = Double(text), seconds >= 0 { return seconds }
        var total: Double = 0
        var number = ""
        var parsed = false
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: unit = -1
            }
            guard unit > 0, let value = Double(number) else {
                throw ScionError(.invalidArgument, "\"\(text)\" is not a duration: use seconds or a number with s, m, h or d (for example 90s, 30m, 1h30m)")
            }
            total += value * unit
            number = ""
            parsed = true
        }
        guard number.isEmpty, parsed else {
            throw ScionError(.invalidArgument, "\"\(text)\" is not a duration: use seconds or a number with s, m, h or d (for example 90s, 30m, 1h30m)")
        }
        return total
    }
}
