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
        var options = options
        if let user = node[AgentUser.optionKey], let text = user.scalar, !text.isEmpty {
            guard AgentUser.parse(text) != nil else {
                throw ScionError(
                    .invalidSettings,
                    "\(user.origin): \(path).\(AgentUser.optionKey) must be a uid or uid:gid such as \"1000\" or \"1000:1000\", not \"\(text)\"")
            }
            options[AgentUser.optionKey] = .string(text.trimmingCharacters(in: .whitespaces))
        }
        guard type == "local", let stateDir = node["state_dir"], let text = stateDir.scalar, !text.isEmpty else {
            return options
        }
        let expanded = TildePath.expand(text, home: home)
        guard expanded.hasPrefix("/"), !expanded.split(separator: "/").contains("..") else {
            throw ScionError(
                .invalidSettings,
                "\(stateDir.origin): \(path).state_dir must be an absolute path (or start with ~/), not \"\(text)\": the tmux sockets of local agents live there")
        }
        options["state_dir"] = .string(expanded)
        return options
    }
}
