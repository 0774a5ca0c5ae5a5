import ArgumentParser
import ScionCore

/// The options `start` and `create` share.
struct AgentOptions: ParsableArguments {
    @Argument(help: "The agent's name: letters, digits, '-', '_' and '.'.")
    var name: String

    @Argument(parsing: .remaining, help: "The task, passed to the harness verbatim (several words are joined with spaces).")
    var task: [String] = []

    @Option(name: .customLong("task-file"), help: "Read the task from this file ('-': standard input), byte for byte; for tasks of any size.")
    var taskFile: String?

    @Option(name: [.customLong("harness"), .customLong("harness-config")], help: "The harness config to use (settings harness_configs), e.g. shell, claude, gemini, codex.")
    var harnessConfig: String?

    @Option(help: "The container image (overrides the harness config's image).")
    var image: String?

    @Option(name: [.customShort("b"), .long], help: "The git branch for the agent's worktree (default: the agent's name); an existing branch is reused.")
    var branch: String?

    @Option(help: "Create the branch from this commit or ref instead of HEAD.")
    var base: String?

    @Option(name: [.customShort("t"), .customLong("type")], help: "The template the agent starts from.")
    var template: String?

    @Flag(help: "Give the agent no credentials.")
    var noAuth = false

    @Option(help: "The auth method to use (for example api-key), instead of detecting one.")
    var harnessAuth: String?

    func request() throws -> StartRequest {
        StartRequest(
            name: name, task: try TaskText.task(words: task, file: taskFile), harnessConfig: harnessConfig,
            image: image, branch: branch, base: base, template: template, noAuth: noAuth, harnessAuth: harnessAuth)
    }
}

extension AgentRecord {
    func summary(verb: String) -> String {
        var lines = ["agent \(name) \(verb) (\(runtime) runtime, \(harnessConfig) harness)"]
        if let branch { lines.append("  branch:   \(branch)") }
        lines.append("  worktree: \(worktree)")
        return lines.joined(separator: "\n")
    }
}
