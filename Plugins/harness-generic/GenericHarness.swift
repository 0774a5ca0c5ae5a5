import ScionPluginKit

/// Runs `<args> <task>`: with args `["sh", "-c"]` (the `shell` config) the
/// task is a shell script the user wrote; with no args, the task's first
/// word is the program. It needs no credentials and has no hooks.
struct GenericHarness: HarnessPlugin {
    let description = HarnessDescription(
        plugin: PluginDescription(
            name: "generic", kind: "harness", version: "0.1.0",
            description: "any command: the configured args followed by the task"),
        authMethods: [], interruptKey: "C-c", supportsResume: false)

    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        if let selected = request.selected, selected != "none" {
            throw PluginError(.invalidArgument, "the generic harness has no auth method \"\(selected)\"; it needs none")
        }
        return ResolvedAuth(method: "none")
    }

    func provision(_ request: ProvisionRequest) throws -> Provision {
        var command = request.config.args
        if let task = request.task, !task.isEmpty {
            command.append(task)
        } else if command.last == "-c" {
            throw PluginError(
                .invalidArgument,
                "harness config \(request.config.name) runs the task as a script (\(command.joined(separator: " "))): give the agent a task")
        }
        guard !command.isEmpty else {
            throw PluginError(
                .invalidArgument,
                "harness config \(request.config.name) has no args and no task was given: nothing to run")
        }
        var env = request.config.env
        if let model = request.config.model { env["SCION_MODEL"] = model }
        return Provision(command: command, env: env)
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        ActivityUpdate(activity: nil)
    }
}
