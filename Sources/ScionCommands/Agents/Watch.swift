import ArgumentParser
import Foundation
import ScionCore
import ScionPluginKit

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow the grove's agents: print every change of phase or activity, and run notify.command.",
        discussion: """
            Polls every agent (like `scion list`) every --interval seconds until interrupted. The first
            poll prints each agent's current state. With --format json each change is one JSON object
            per line. Changes that come and go between two polls are not shown.
            """)

    @Option(help: "Seconds between polls.") var interval: Double = 1
    @OptionGroup var global: GlobalOptions

    /// One agent's state as watch prints it.
    struct Change: Encodable {
        var at: Date
        var agent: String
        var phase: String
        var activity: String?
        var message: String?
        var previousPhase: String?
        var previousActivity: String?

        enum CodingKeys: String, CodingKey {
            case at, agent, phase, activity, message
            case previousPhase = "previous_phase", previousActivity = "previous_activity"
        }

        var plainState: String { activity.map { "\(phase)/\($0)" } ?? phase }
    }

    func run() async throws {
        guard interval > 0 else { throw ScionError(.invalidArgument, "--interval must be more than 0 seconds") }
        let orchestrator = try global.orchestrator()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var last: [String: Change] = [:]
        while true {
            var seen = Set<String>()
            for agent in try await Blocking.run({ try orchestrator.list() }) {
                seen.insert(agent.name)
                var change = Change(
                    at: Date(), agent: agent.name, phase: agent.phase.rawValue, activity: agent.activity?.rawValue,
                    message: agent.activityMessage ?? agent.detail)
                let previous = last[agent.name]
                guard previous?.phase != change.phase || previous?.activity != change.activity
                        || previous?.message != change.message
                else { continue }
                change.previousPhase = previous?.phase
                change.previousActivity = previous?.activity
                last[agent.name] = change
                try emit(change, encoder)
            }
            for name in last.keys where !seen.contains(name) {
                let previous = last.removeValue(forKey: name)
                try emit(Change(at: Date(), agent: name, phase: "deleted", previousPhase: previous?.phase,
                                previousActivity: previous?.activity), encoder)
            }
            try await Blocking.run { Subprocess.reap() }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
    }

    private func emit(_ change: Change, _ encoder: JSONEncoder) throws {
        if global.format == .json {
            Output.write(TerminalText.escapeJSON(String(decoding: try encoder.encode(change), as: UTF8.self)) + "\n")
            return
        }
        let time = ISO8601DateFormatter.string(from: change.at, timeZone: .current, formatOptions: [.withTime, .withColonSeparatorInTime])
        let was = change.previousPhase.map { previous in
            " (was \(change.previousActivity.map { "\(previous)/\($0)" } ?? previous))"
        } ?? ""
        Output.write("\(time)  \(change.agent)  \(change.plainState)\(was)\(change.message.map { "  \(TerminalText.line($0))" } ?? "")\n")
    }
}
