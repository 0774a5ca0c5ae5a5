import Foundation

/// `capabilities`: what a runtime can do, so the host can plan. A field
/// absent from an answer has its default (the SCION_CAP_* comments in the
/// header): false, except `terminal_session`, true.
public struct RuntimeCapabilities: Codable, Sendable, Equatable {
    public var needsImage: Bool
    /// The agent runs on another machine: home and worktree move by `sync`.
    public var remote: Bool
    public var sync: Bool
    /// The runtime isolates files and environment (a container or pod).
    public var isolated: Bool
    /// The agent runs in the tmux session the host drives through `exec`
    /// (`look`, `message`, `attach`). False for a plain process runtime.
    public var terminalSession: Bool
    /// The agent's home is at the same path on the host (local, docker,
    /// podman): the host reads its files directly. When false the host uses
    /// `read_agent_file`, `write_agent_file` and `logs`. Absent means true.
    public var sharesHostPaths: Bool

    public init(
        needsImage: Bool, remote: Bool = false, sync: Bool = false, isolated: Bool, terminalSession: Bool = true,
        sharesHostPaths: Bool = true
    ) {
        self.needsImage = needsImage
        self.remote = remote
        self.sync = sync
        self.isolated = isolated
        self.terminalSession = terminalSession
        self.sharesHostPaths = sharesHostPaths
    }

    /// The keys are the header's SCION_CAP_* names.
    struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }

        static let needsImage = Key(PluginCapability.needsImage), remote = Key(PluginCapability.remote)
        static let sync = Key(PluginCapability.sync), isolated = Key(PluginCapability.isolated)
        static let terminalSession = Key(PluginCapability.terminalSession)
        static let sharesHostPaths = Key(PluginCapability.sharesHostPaths)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        needsImage = try container.decodeIfPresent(Bool.self, forKey: .needsImage) ?? false
        remote = try container.decodeIfPresent(Bool.self, forKey: .remote) ?? false
        sync = try container.decodeIfPresent(Bool.self, forKey: .sync) ?? false
        isolated = try container.decodeIfPresent(Bool.self, forKey: .isolated) ?? false
        terminalSession = try container.decodeIfPresent(Bool.self, forKey: .terminalSession) ?? true
        sharesHostPaths = try container.decodeIfPresent(Bool.self, forKey: .sharesHostPaths) ?? true
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(needsImage, forKey: .needsImage)
        try container.encode(remote, forKey: .remote)
        try container.encode(sync, forKey: .sync)
        try container.encode(isolated, forKey: .isolated)
        try container.encode(terminalSession, forKey: .terminalSession)
        try container.encode(sharesHostPaths, forKey: .sharesHostPaths)
    }
}

/// The state of one agent as its runtime sees it.
public struct RuntimeAgent: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case created, running, stopped, missing

        public init(from decoder: Decoder) throws { self = try decodeEnum(decoder) }
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
    /// The agent's home on the host. Optional: a remote runtime reads the
    /// copy its last sync left there once the agent's instance is gone.
    public var home: String?

    public init(
        name: String, handle: String, tail: Int? = nil, follow: Bool = false,
        runtimeConfig: [String: JSONValue]? = nil, home: String? = nil
    ) {
        self.name = name
        self.handle = handle
        self.tail = tail
        self.follow = follow
        self.runtimeConfig = runtimeConfig
        self.home = home
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, tail, follow, runtimeConfig = "runtime_config", home
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
    /// Standard input as text, for 1.0 plugins; only when it is valid UTF-8.
    public var stdin: String?
    /// Standard input, byte for byte, base64 (RFC 4648). Wins over `stdin`.
    public var stdinBase64: String?
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?

    public init(
        name: String, handle: String, argv: [String], stdin: String? = nil,
        runtimeConfig: [String: JSONValue]? = nil
    ) {
        self.init(name: name, handle: handle, argv: argv, input: stdin.map { Data($0.utf8) }, runtimeConfig: runtimeConfig)
    }

    /// Sends `input` both ways: base64 for this revision, text for 1.0 plugins when it is UTF-8.
    public init(name: String, handle: String, argv: [String], input: Data?, runtimeConfig: [String: JSONValue]? = nil) {
        self.name = name
        self.handle = handle
        self.argv = argv
        self.stdin = input.flatMap { String(data: $0, encoding: .utf8) }
        self.stdinBase64 = input?.base64EncodedString()
        self.runtimeConfig = runtimeConfig
    }

    /// Standard input as bytes: `stdin_base64`, else `stdin`.
    public var input: Data? {
        if let stdinBase64, let data = Data(base64Encoded: stdinBase64) { return data }
        return stdin.map { Data($0.utf8) }
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, argv, stdin, stdinBase64 = "stdin_base64", runtimeConfig = "runtime_config"
    }
}

public struct ExecResult: Codable, Sendable, Equatable {
    public var exitCode: Int
    /// Output as text (invalid UTF-8 replaced), for 1.0 hosts.
    public var stdout: String
    public var stderr: String
    /// Output byte for byte, base64. Win over the text fields.
    public var stdoutBase64: String?
    public var stderrBase64: String?

    public init(exitCode: Int, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Both forms: the bytes as base64, and as text for 1.0 hosts.
    public init(exitCode: Int, output: Data, errorOutput: Data) {
        self.exitCode = exitCode
        self.stdout = String(decoding: output, as: UTF8.self)
        self.stderr = String(decoding: errorOutput, as: UTF8.self)
        self.stdoutBase64 = output.base64EncodedString()
        self.stderrBase64 = errorOutput.base64EncodedString()
    }

    /// Standard output as bytes: `stdout_base64`, else `stdout`.
    public var output: Data {
        stdoutBase64.flatMap { Data(base64Encoded: $0) } ?? Data(stdout.utf8)
    }

    public var errorOutput: Data {
        stderrBase64.flatMap { Data(base64Encoded: $0) } ?? Data(stderr.utf8)
    }

    enum CodingKeys: String, CodingKey {
        case exitCode = "exit_code", stdout, stderr, stdoutBase64 = "stdout_base64", stderrBase64 = "stderr_base64"
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
    public enum Direction: String, Codable, Sendable, CaseIterable {
        case to, from
        public init(from decoder: Decoder) throws { self = try decodeEnum(decoder) }
    }
    public var name: String
    public var handle: String
    public var direction: Direction
    /// Host paths to move (the agent sees them at the same paths).
    public var paths: [String]
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig). Optional.
    public var runtimeConfig: [String: JSONValue]?
    /// The agent's worktree on the host (its branch is what moves). Optional.
    public var workdir: String?
    /// The agent's home on the host. Optional.
    public var home: String?

    public init(
        name: String, handle: String, direction: Direction, paths: [String], runtimeConfig: [String: JSONValue]? = nil,
        workdir: String? = nil, home: String? = nil
    ) {
        self.name = name
        self.handle = handle
        self.direction = direction
        self.paths = paths
        self.runtimeConfig = runtimeConfig
        self.workdir = workdir
        self.home = home
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, direction, paths, runtimeConfig = "runtime_config", workdir, home
    }
}
