import Foundation
import ScionPluginKit

/// Runtime options the host checks before any plugin sees them.
enum RuntimeOptions {
    /// The local runtime's `state_dir` holds every agent's tmux socket: a
    /// relative one would depend on the current folder (folders in the
    /// repository, agents that `stop` cannot find), so `~` is expanded and
    /// anything else must be absolute.
    static func checked(
        type: String, options: [String: JSONValue], node: SettingsNode, path: String, home: String?
    ) throws -> [String: JSONValue] {
        guard type == "local", let stateDir = node["state_dir"], let text = stateDir.scalar, !text.isEmpty else {
            return options
        }
        let expanded = TildePath.expand(text, home: home)
        guard expanded.hasPrefix("/"), !expanded.split(separator: "/").contains("..") else {
            throw ScionError(
                .invalidSettings,
                "\(stateDir.origin): \(path).state_dir must be an absolute path (or start with ~/), not \"\(text)\": the tmux sockets of local agents live there")
        }
        var options = options
        options["state_dir"] = .string(expanded)
        return options
    }
}
