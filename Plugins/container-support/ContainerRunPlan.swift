import Foundation
import ScionPluginKit

/// Everything a container engine needs to create one agent's container,
/// derived once from a RunSpec so docker and podman build the same thing.
///
/// The container's main process is the tmux client of the agent session,
/// running on the container's TTY: the session lives as long as the
/// container and the container ends when the session does.
public struct ContainerRunPlan: Sendable, Equatable {
    public typealias Bind = RunSpec.Mount

    /// Label holding the agent home, so `status`, `list` and `logs` find the
    /// exit-status file and the log (both in the home, a host directory).
    public static let homeLabel = "scion.home"
    public static let defaultTerm = "xterm-256color"

    /// `<grove>--<agent>`.
    public var name: String
    public var agent: String
    public var image: String
    /// The container's command: the tmux client that creates the session.
    public var command: [String]
    /// The harness argv, which `ContainerRuntime` writes into the home for
    /// the session's wrapper (see `HarnessLaunch`).
    public var harnessCommand: [String]
    /// The container's whole environment (spec env, HOME, TERM).
    public var env: [String: String]
    /// Names of the run spec's env whose values must never be logged or
    /// shown. They are not in `env`: `secrets` holds them.
    public var secretEnv: Set<String>
    /// The secret variables, written into the agent home's launch folder
    /// (HarnessLaunch.environmentFolder, mode 0600) for the harness wrapper
    /// to export, so they never reach the container's spec.
    public var secrets: [String: String]
    public var labels: [String: String]
    /// The worktree and the home first, at the same paths as on the host,
    /// then the spec's own mounts.
    public var binds: [Bind]
    public var workdir: String
    public var home: String
    /// "uid:gid", or nil for the image's user.
    public var user: String?
    public var limits: ResourceLimits
    /// The network mode from `runtime_config.network`; nil leaves the
    /// engine's default (agents usually need to reach their model's API).
    public var network: String?
    /// Run a minimal init (tini / catatonit) as PID 1 to reap orphans:
    /// `runtime_config.init`, true by default.
    public var useInit: Bool

    public init(spec: RunSpec, runtime: String) throws {
        guard let image = spec.image?.trimmingCharacters(in: .whitespaces), !image.isEmpty else {
            throw PluginError(
                .invalidArgument,
                "the \(runtime) runtime needs an image for agent \(spec.agent): set `image` in the harness config or profile (see docs/images.md)")
        }
        guard !spec.name.isEmpty else {
            throw PluginError(.invalidArgument, "the run spec for agent \(spec.agent) has an empty container name")
        }
        guard !spec.command.isEmpty else {
            throw PluginError(.invalidArgument, "the run spec for agent \(spec.agent) has no command")
        }
        for (what, path) in [("workdir", spec.workdir), ("home", spec.home)] where !path.hasPrefix("/") {
            throw PluginError(.invalidArgument, "the run spec's \(what) must be an absolute path, not \"\(path)\"")
        }

        name = spec.name
        agent = spec.agent
        self.image = image
        workdir = spec.workdir
        home = spec.home
        command = Self.sessionCommand(spec)
        harnessCommand = spec.command

        var env = spec.env
        env["HOME"] = spec.home
        env["TERM"] = env["TERM"] ?? Self.defaultTerm
        if let user = spec.user, !user.name.isEmpty {
            env["USER"] = env["USER"] ?? user.name
            env["LOGNAME"] = env["LOGNAME"] ?? user.name
        }
        for key in env.keys where key.isEmpty || key.contains("=") || key.contains("\0") {
            throw PluginError(.invalidArgument, "environment variable name \"\(key)\" is not valid")
        }
        secretEnv = Set(spec.secretEnv)
        var secrets: [String: String] = [:]
        for name in secretEnv {
            if let value = env.removeValue(forKey: name) { secrets[name] = value }
        }
        self.env = env
        self.secrets = secrets

        var labels = spec.labels
        labels[Self.homeLabel] = labels[Self.homeLabel] ?? spec.home
        self.labels = labels

        var binds = [Bind(source: spec.workdir, target: spec.workdir), Bind(source: spec.home, target: spec.home)]
        for mount in spec.mounts {
            guard mount.source.hasPrefix("/"), mount.target.hasPrefix("/") else {
                throw PluginError(
                    .invalidArgument,
                    "mount \(mount.source) -> \(mount.target): both paths must be absolute")
            }
            let bind = Bind(source: Self.clean(mount.source), target: Self.clean(mount.target), readOnly: mount.readOnly)
            if let existing = binds.first(where: { $0.target == bind.target }) {
                guard existing.source == bind.source else {
                    throw PluginError(
                        .invalidArgument,
                        "two mounts share the container path \(bind.target): \(existing.source) and \(bind.source)")
                }
                continue
            }
            binds.append(bind)
        }
        self.binds = binds

        user = spec.user.map { "\($0.uid):\($0.gid)" }
        limits = try ResourceLimits(spec.resources)

        network = spec.runtimeConfig["network"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        switch spec.runtimeConfig["init"] {
        case .bool(let value)?: useInit = value
        case .string(let text)?: useInit = !["false", "no", "0", "off"].contains(text.lowercased())
        default: useInit = true
        }
    }

    /// Where, relative to HOME, the session marks itself ready: the last
    /// command of the tmux client's command list, so once the file exists
    /// the session, its log pipe and its shell window all do.
    public static let readyPath = ".scion/session-ready"

    /// The terminal size the session starts with, as the local runtime's
    /// detached sessions have; an attaching client's size takes over.
    public static let terminalColumns = 200
    public static let terminalRows = 50

    /// The container's main process: a tmux client creating the agent
    /// session on the container's TTY. The engines give that TTY no size
    /// (tmux would fall back to 80x24), so a shell sets it first and then
    /// execs tmux (arguments pass through "$@", never through the shell's
    /// parser).
    static func sessionCommand(_ spec: RunSpec) -> [String] {
        let tmux = ["tmux", "-f", spec.session.configFile ?? "/dev/null"]
            + Tmux.newSession(spec.session, workdir: spec.workdir, detached: false)
            + [";", "run-shell", "touch \"$HOME/\(readyPath)\""]
        return ["sh", "-c", "stty cols \(terminalColumns) rows \(terminalRows) 2>/dev/null; exec \"$@\"", "scion-session"] + tmux
    }

    /// A one-line summary for debug logs: names of environment variables,
    /// never their values.
    public var summary: String {
        var parts = ["image \(image)", "workdir \(workdir)", "home \(home)", "network \(network ?? "engine default")"]
        parts.append("binds " + binds.map { "\($0.source)->\($0.target)\($0.readOnly ? ":ro" : "")" }.joined(separator: ","))
        parts.append("env keys " + env.keys.sorted().joined(separator: ","))
        if let user { parts.append("user \(user)") }
        if let memory = limits.memoryBytes { parts.append("memory \(memory)") }
        if let cpus = limits.cpusText { parts.append("cpus \(cpus)") }
        return parts.joined(separator: "; ")
    }

    /// `env` as KEY=VALUE strings in a stable order.
    public var environmentList: [String] {
        env.keys.sorted().map { "\($0)=\(env[$0]!)" }
    }

    /// Where the agent window's output is appended (a host path).
    public var logPath: String { home + "/" + Tmux.logPath }

    static func clean(_ path: String) -> String {
        var cleaned = path
        while cleaned.count > 1 && cleaned.hasSuffix("/") { cleaned.removeLast() }
        return cleaned
    }
}
