/// What every runtime is asked to run: one agent, described the same way
/// whether it becomes a host process, a container or a pod.
public struct RunSpec: Codable, Sendable, Equatable {
    public struct Mount: Codable, Sendable, Equatable {
        public var source: String
        public var target: String
        public var readOnly: Bool

        public init(source: String, target: String, readOnly: Bool = false) {
            self.source = source
            self.target = target
            self.readOnly = readOnly
        }

        enum CodingKeys: String, CodingKey {
            case source, target, readOnly = "read_only"
        }
    }

    public struct Resources: Codable, Sendable, Equatable {
        /// Memory limit as written in settings, for example "2g" or "512m".
        public var memory: String?
        /// CPU limit as written in settings, for example "1.5".
        public var cpus: String?

        public init(memory: String? = nil, cpus: String? = nil) {
            self.memory = memory
            self.cpus = cpus
        }
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var name: String

        public init(uid: UInt32, gid: UInt32, name: String) {
            self.uid = uid
            self.gid = gid
            self.name = name
        }
    }

    public var schemaVersion: Int
    /// Unique within the runtime: `<grove>--<agent>`.
    public var name: String
    public var agent: String
    public var grove: String
    public var image: String?
    /// The harness argv; the runtime runs it in the session's agent window.
    public var command: [String]
    public var env: [String: String]
    /// Names of `env` entries that hold secrets: never log or print them.
    public var secretEnv: [String]
    public var labels: [String: String]
    /// The worktree. Runtimes that mount it use the same path inside, so
    /// git's absolute worktree links resolve unchanged.
    public var workdir: String
    /// The agent home (HOME), at the same path inside as outside.
    public var home: String
    public var mounts: [Mount]
    public var resources: Resources
    public var user: User?
    public var session: SessionLayout
    /// The `runtimes.<name>` settings entry, for the runtime's own keys.
    public var runtimeConfig: [String: JSONValue]

    public init(
        name: String, agent: String, grove: String, image: String? = nil, command: [String],
        env: [String: String] = [:], secretEnv: [String] = [], labels: [String: String] = [:],
        workdir: String, home: String, mounts: [Mount] = [], resources: Resources = Resources(),
        user: User? = nil, session: SessionLayout = SessionLayout(), runtimeConfig: [String: JSONValue] = [:]
    ) {
        self.schemaVersion = 1
        self.name = name
        self.agent = agent
        self.grove = grove
        self.image = image
        self.command = command
        self.env = env
        self.secretEnv = secretEnv
        self.labels = labels
        self.workdir = workdir
        self.home = home
        self.mounts = mounts
        self.resources = resources
        self.user = user
        self.session = session
        self.runtimeConfig = runtimeConfig
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, agent, grove, image, command, env
        case secretEnv = "secret_env", labels, workdir, home, mounts, resources, user, session
        case runtimeConfig = "runtime_config"
    }
}

/// The tmux layout every runtime builds: one session with an agent window
/// running the harness and a shell window.
public struct SessionLayout: Codable, Sendable, Equatable {
    public var session: String
    public var agentWindow: String
    public var shellWindow: String
    /// A tmux configuration file to load (inside the agent's view), if any.
    public var configFile: String?
    /// Where the agent window's output is appended (inside the agent's view).
    public var logFile: String?
    /// Where tmux writes the harness's exit status when it ends.
    public var exitFile: String?

    public init(
        session: String = "scion", agentWindow: String = "agent", shellWindow: String = "shell",
        configFile: String? = nil, logFile: String? = nil, exitFile: String? = nil
    ) {
        self.session = session
        self.agentWindow = agentWindow
        self.shellWindow = shellWindow
        self.configFile = configFile
        self.logFile = logFile
        self.exitFile = exitFile
    }

    public var agentTarget: String { "\(session):\(agentWindow)" }

    enum CodingKeys: String, CodingKey {
        case session, agentWindow = "agent_window", shellWindow = "shell_window"
        case configFile = "config_file", logFile = "log_file", exitFile = "exit_file"
    }
}
