/// `capabilities`: what a runtime can do, so the host can plan.
public struct RuntimeCapabilities: Codable, Sendable, Equatable {
    public var needsImage: Bool
    /// The agent runs on another machine: home and worktree move by `sync`.
    public var remote: Bool
    public var sync: Bool
    /// The runtime isolates files and environment (a container or pod).
    public var isolated: Bool
    /// The agent's home is at the same path on the host (local, docker,
    /// podman): the host reads its files directly. When false the host uses
    /// `read_agent_file`, `write_agent_file` and `logs`. Absent means true.
    public var sharesHostPaths: Bool

    public init(needsImage: Bool, remote: Bool = false, sync: Bool = false, isolated: Bool, sharesHostPaths: Bool = true) {
        self.needsImage = needsImage
        self.remote = remote
        self.sync = sync
        self.isolated = isolated
        self.sharesHostPaths = sharesHostPaths
    }

    enum CodingKeys: String, CodingKey {
        case needsImage = "needs_image", remote, sync, isolated, sharesHostPaths = "shares_host_paths"
    }
}

/// The state of one agent as its runtime sees it.
public struct RuntimeAgent: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case created, running, stopped, missing
    }

    public var name: String
    public var handle: String
    public var state: State
    public var labels: [String: String]
    /// Set once the harness process in the agent window has ended.
    public var exitCode: Int?
    public var detail: String?

    public init(
        name: String, handle: String, state: State, labels: [String: String] = [:],
        exitCode: Int? = nil, detail: String? = nil
    ) {
        self.name = name
        self.handle = handle
        self.state = state
        self.labels = labels
        self.exitCode = exitCode
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, state, labels, exitCode = "exit_code", detail
    }
}

public struct RunResult: Codable, Sendable, Equatable {
    public var handle: String
    public init(handle: String) { self.handle = handle }
}

public struct StopRequest: Codable, Sendable, Equatable {
    public var name: String
    public var handle: String
    public var timeoutSeconds: Int
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(name: String, handle: String, timeoutSeconds: Int = 10, runtimeConfig: [String: JSONValue]? = nil) {
        self.name = name
        self.handle = handle
        self.timeoutSeconds = timeoutSeconds
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, timeoutSeconds = "timeout_seconds", runtimeConfig = "runtime_config"
    }
}

public struct ListRequest: Codable, Sendable, Equatable {
    /// Agents must carry all of these labels.
    public var labels: [String: String]
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(labels: [String: String], runtimeConfig: [String: JSONValue]? = nil) {
        self.labels = labels
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case labels, runtimeConfig = "runtime_config"
    }
}

public struct ListResponse: Codable, Sendable, Equatable {
    public var agents: [RuntimeAgent]
    public init(agents: [RuntimeAgent]) { self.agents = agents }
}

public struct LogsRequest: Codable, Sendable, Equatable {
    public var name: String
    public var handle: String
    /// Only the last `tail` lines; nil for all.
    public var tail: Int?
    public var follow: Bool
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(
        name: String, handle: String, tail: Int? = nil, follow: Bool = false,
        runtimeConfig: [String: JSONValue]? = nil
    ) {
        self.name = name
        self.handle = handle
        self.tail = tail
        self.follow = follow
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, tail, follow, runtimeConfig = "runtime_config"
    }
}

/// One streamed chunk of an agent's log.
public struct LogChunk: Codable, Sendable, Equatable {
    public var text: String
    public init(text: String) { self.text = text }
}

public struct ExecRequest: Codable, Sendable, Equatable {
    public var name: String
    public var handle: String
    public var argv: [String]
    public var stdin: String?
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(
        name: String, handle: String, argv: [String], stdin: String? = nil,
        runtimeConfig: [String: JSONValue]? = nil
    ) {
        self.name = name
        self.handle = handle
        self.argv = argv
        self.stdin = stdin
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, argv, stdin, runtimeConfig = "runtime_config"
    }
}

public struct ExecResult: Codable, Sendable, Equatable {
    public var exitCode: Int
    public var stdout: String
    public var stderr: String

    public init(exitCode: Int, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    enum CodingKeys: String, CodingKey {
        case exitCode = "exit_code", stdout, stderr
    }
}

/// `attach_argv`: the command the host runs on the user's terminal.
public struct AttachCommand: Codable, Sendable, Equatable {
    public var argv: [String]
    /// Added to the host's environment for that command.
    public var env: [String: String]

    public init(argv: [String], env: [String: String] = [:]) {
        self.argv = argv
        self.env = env
    }
}

public struct ImageRequest: Codable, Sendable, Equatable {
    public var image: String
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(image: String, runtimeConfig: [String: JSONValue]? = nil) {
        self.image = image
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case image, runtimeConfig = "runtime_config"
    }
}

public struct ImageExists: Codable, Sendable, Equatable {
    public var exists: Bool
    public init(exists: Bool) { self.exists = exists }
}

/// One streamed progress event of a long operation (pull, sync).
public struct ProgressEvent: Codable, Sendable, Equatable {
    public var message: String
    public var current: Int64?
    public var total: Int64?

    public init(message: String, current: Int64? = nil, total: Int64? = nil) {
        self.message = message
        self.current = current
        self.total = total
    }
}

public struct SyncRequest: Codable, Sendable, Equatable {
    public enum Direction: String, Codable, Sendable { case to, from }
    public var name: String
    public var handle: String
    public var direction: Direction
    /// Host paths to move (the agent sees them at the same paths).
    public var paths: [String]

    public init(name: String, handle: String, direction: Direction, paths: [String]) {
        self.name = name
        self.handle = handle
        self.direction = direction
        self.paths = paths
    }
}
