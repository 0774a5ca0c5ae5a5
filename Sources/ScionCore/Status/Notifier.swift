import Foundation
import Logging
import ScionPluginKit

/// Runs `notify.command` (an argv, never a shell string) on the host when
/// an agent newly waits for input or completes. The command gets the
/// user's environment plus SCION_AGENT, SCION_ACTIVITY, SCION_MESSAGE and
/// SCION_GROVE; it is not waited for, and its output goes to stderr.
struct Notifier {
    let command: [String]?
    let environment: [String: String]
    let grove: Grove
    private let logger = Logger(label: "scion.notify")

    init(command: [String]?, environment: [String: String], grove: Grove) {
        self.command = command
        self.environment = environment
        self.grove = grove
    }

    func notify(agent: String, activity: AgentActivity) {
        guard let command, !command.isEmpty else { return }
        var environment = self.environment
        environment["SCION_AGENT"] = agent
        environment["SCION_ACTIVITY"] = activity.activity.rawValue
        environment["SCION_MESSAGE"] = activity.message ?? ""
        environment["SCION_GROVE"] = grove.directory
        do {
            _ = try Subprocess.start(command, environment: environment)
            logger.debug("notified \(command[0]) that agent \(agent) is \(activity.activity.rawValue)")
        } catch {
            logger.warning("notify.command could not run: \(error)")
        }
    }
}
