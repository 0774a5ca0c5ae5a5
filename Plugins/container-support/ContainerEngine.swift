import Foundation
import ScionPluginKit

/// One container as an engine reports it, in the words both docker and
/// podman use.
public struct ContainerState: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The engine's own word: created, running, paused, restarting, exited,
    /// dead, removing (docker); also configured, stopping, stopped (podman).
    public var status: String
    /// The exit code of the container's main process (the tmux client), once
    /// it has exited.
    public var exitCode: Int?
    public var labels: [String: String]
    /// The engine's error text for a container that failed to start.
    public var error: String?

    public init(
        id: String, name: String, status: String, exitCode: Int? = nil, labels: [String: String] = [:],
        error: String? = nil
    ) {
        self.id = id
        self.name = name.hasPrefix("/") ? String(name.dropFirst()) : name
        self.status = status.lowercased()
        self.exitCode = exitCode
        self.labels = labels
        self.error = error.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var agentState: RuntimeAgent.State {
        switch status {
        case "created", "configured", "initialized": return .created
        case "running", "paused", "restarting", "stopping": return .running
        default: return .stopped
        }
    }

    public var isRunning: Bool { agentState == .running }

    public var home: String? { labels[ContainerRunPlan.homeLabel] }

    /// The agent as the host sees it. `exit_code` is the harness's own exit
    /// status, which tmux writes into the home when the agent window's
    /// process ends; the container's exit code goes into `detail`.
    public var runtimeAgent: RuntimeAgent {
        var detail = "container \(status)"
        if agentState == .stopped, let exitCode { detail += " (exit code \(exitCode))" }
        if let error { detail += ": \(error)" }
        return RuntimeAgent(
            name: name, handle: id, state: agentState, labels: labels, exitCode: harnessExitCode, detail: detail)
    }

    var harnessExitCode: Int? {
        guard let home, let text = UntrustedDirectory(home).text(Tmux.exitPath) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// What a container engine must do for the container runtimes. Docker
/// implements it over the Engine API, podman over its CLI; everything else
/// (the plan, status mapping, logs, messages) is shared in ContainerRuntime.
public protocol ContainerEngine: Sendable {
    /// "docker" or "podman": the program users know, used in messages.
    static var program: String { get }

    /// Connects (lazily) to the engine named by a `runtimes.<name>` entry.
    init(runtimeConfig: [String: JSONValue]) throws

    /// Where the engine is, for messages ("unix:///var/run/docker.sock").
    var endpoint: String { get }
    /// True when the engine runs on this machine, so host paths are its paths.
    var isLocal: Bool { get }

    /// Creates and starts the container; returns its ID. Throws
    /// `already_exists` when the name is taken, `not_found` when the image
    /// is missing; leaves no container behind on failure.
    func run(_ plan: ContainerRunPlan) throws -> String
    /// Stops a running container; a stopped one is left as is.
    func stop(_ reference: String, timeoutSeconds: Int) throws
    /// Removes the container and its anonymous volumes; missing is fine.
    func remove(_ reference: String) throws
    /// nil when there is no such container.
    func inspect(_ reference: String) throws -> ContainerState?
    /// Containers (running or not) carrying all of `labels`.
    func list(labels: [String: String]) throws -> [ContainerState]
    /// Runs argv in the running container as its user, in its working
    /// directory and environment, with `stdin` as its standard input.
    func exec(_ reference: String, argv: [String], stdin: Data?) throws -> ExecResult
    func imageExists(_ image: String) throws -> Bool
    func pullImage(_ image: String, progress: EventSink) throws
    /// The last lines the container's main process wrote on its TTY (best
    /// effort, for error messages about a session that did not start).
    func recentOutput(_ reference: String, lines: Int) -> String
    /// The argv the host runs on the user's terminal to attach.
    func attachArgv(_ reference: String, session: String) -> [String]
}

/// Messages both engines give for the same situations.
public enum ContainerErrors {
    public static func imageMissing(_ image: String, program: String) -> PluginError {
        PluginError(
            .notFound,
            "image \(image) is not in \(program): build it with images/build.sh (see docs/images.md) or pull it with `\(program) pull \(image)`",
            details: ["image": .string(image)])
    }

    /// A pull failed. When the image is not in the engine either (the host
    /// pulls only a missing image), say so first and how to build one: the
    /// registry's reason alone ("no such host", "short-name did not
    /// resolve") does not tell the user what to do.
    public static func pullFailed(
        _ image: String, program: String, reason: String, code: PluginError.Code, stillMissing: Bool
    ) -> PluginError {
        let message = stillMissing
            ? "image \(image) is not in \(program) and could not be pulled (\(reason)): build it with images/build.sh (see docs/images.md), or check the image name"
            : "\(program) could not pull \(image): \(reason)"
        return PluginError(code, message, details: ["image": .string(image)])
    }

    public static func nameTaken(_ name: String, existing: ContainerState?, program: String) -> PluginError {
        // The host removes its own agent's leftover of this name before the
        // user sees this; so this container is someone else's: never advise
        // removing it.
        let what = existing.map { " (\($0.id.prefix(12)), \($0.status))" } ?? ""
        let owner = existing.map { container in
            container.labels["scion.grove_path"].map { " and belongs to the scion grove \($0)" }
                ?? (container.labels["scion.agent"] == nil ? " and was not made by scion" : "")
        } ?? ""
        return PluginError(
            .alreadyExists,
            "a \(program) container named \(name) already exists\(what)\(owner); scion leaves it alone: choose another agent name",
            details: ["container": .string(name)])
    }

    public static func sessionFailed(_ image: String, agent: String, reason: String) -> PluginError {
        let missing = isMissingExecutable(reason)
        return PluginError(
            .failedPrecondition,
            "the tmux session of agent \(agent) did not start in image \(image)\(reason.isEmpty ? "" : ": \(reason)")"
                + (missing ? " (agent images need sh, tmux and git: see docs/images.md)" : ""),
            details: ["image": .string(image)])
    }

    public static func noContainer(_ target: String, reference: String, program: String) -> PluginError {
        PluginError(
            .notFound, "agent \(target) has no \(program) container (\(reference))",
            details: ["container": .string(reference)])
    }

    public static func notRunning(_ target: String, state: String?) -> PluginError {
        PluginError(
            .failedPrecondition,
            "agent \(target) is not running (its container is \(state ?? "stopped"))")
    }

    /// True for an engine's complaint that the image lacks the program.
    public static func isMissingExecutable(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("executable file not found") || lowered.contains("not found in $path")
            || lowered.contains("no such file or directory") && lowered.contains("exec")
    }
}
