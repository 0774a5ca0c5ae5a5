import ScionPluginKit

/// Runs `<args> <task>`: with args `["sh", "-c"]` (the `shell` config) the
/// task is a shell script the user wrote; with no args, the task's first
/// word is the program. It needs no credentials and has no hooks.
///
/// A task too long for one argument (`HarnessLaunch.maxArgumentBytes`):
/// a shell config (its args end in a `-c` option) sources the task file
/// instead (`sh -c '. "$0"' <task file>`), byte for byte the same script;
/// any other config is refused, since its program takes the task as an
/// argument (it can read `$SCION_TASK_FILE` instead).
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
            if HarnessLaunch.fitsInArgument(task) {
                command.append(task)
            } else if let file = request.taskFile, Self.runsScript(command) {
                command += [". \"$0\"", file]
            } else {
                throw PluginError(
                    .invalidArgument,
                    "the task is \(task.utf8.count) bytes, more than the \(HarnessLaunch.maxArgumentBytes) bytes one argument can hold, and harness config \(request.config.name) passes it as an argument; make its program read the file $SCION_TASK_FILE instead")
            }
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

    /// Whether the args end in a shell's "run this script" option (`-c`,
    /// `-lc`, `-ec`...).
    static func runsScript(_ args: [String]) -> Bool {
        guard let last = args.last, last.count >= 2, last.hasPrefix("-"), !last.hasPrefix("--") else { return false }
        return last.hasSuffix("c")
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        ActivityUpdate(activity: nil)
    }
}
