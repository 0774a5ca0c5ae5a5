/// One way a harness can authenticate.
public struct AuthMethod: Codable, Sendable, Equatable {
    public var type: String
    public var description: String
    /// Host environment variables this method reads.
    public var env: [String]
    /// Host files (relative to the user's home) this method reads.
    public var files: [String]

    public init(type: String, description: String, env: [String] = [], files: [String] = []) {
        self.type = type
        self.description = description
        self.env = env
        self.files = files
    }
}

/// `describe` for a harness: the common description plus what the host
/// needs to know before provisioning.
public struct HarnessDescription: Codable, Sendable, Equatable {
    public var plugin: PluginDescription
    public var authMethods: [AuthMethod]
    /// The tmux key that interrupts the harness (for example "Escape", "C-c").
    public var interruptKey: String
    public var supportsResume: Bool
    /// tmux keys sent after the interrupt key, before the next message is
    /// typed, to empty the harness's input line (optional; none by default).
    /// For a harness that puts an interrupted prompt back into its input
    /// box, where the next message would be typed after it (issue 14).
    public var clearInputKeys: [String]

    public init(
        plugin: PluginDescription, authMethods: [AuthMethod], interruptKey: String, supportsResume: Bool,
        clearInputKeys: [String] = []
    ) {
        self.plugin = plugin
        self.authMethods = authMethods
        self.interruptKey = interruptKey
        self.supportsResume = supportsResume
        self.clearInputKeys = clearInputKeys
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        plugin = try container.decode(PluginDescription.self, forKey: .plugin)
        authMethods = try container.decode([AuthMethod].self, forKey: .authMethods)
        interruptKey = try container.decode(String.self, forKey: .interruptKey)
        supportsResume = try container.decode(Bool.self, forKey: .supportsResume)
        clearInputKeys = try container.decodeIfPresent([String].self, forKey: .clearInputKeys) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case plugin, authMethods = "auth_methods", interruptKey = "interrupt_key"
        case supportsResume = "supports_resume", clearInputKeys = "clear_input_keys"
    }
}

/// The `harness_configs.<name>` entry the agent uses, resolved by the host.
public struct HarnessConfig: Codable, Sendable, Equatable {
    public var name: String
    public var harness: String
    public var model: String?
    public var args: [String]
    public var env: [String: String]
    public var authSelectedType: String?

    public init(
        name: String, harness: String, model: String? = nil, args: [String] = [],
        env: [String: String] = [:], authSelectedType: String? = nil
    ) {
        self.name = name
        self.harness = harness
        self.model = model
        self.args = args
        self.env = env
        self.authSelectedType = authSelectedType
    }

    enum CodingKeys: String, CodingKey {
        case name, harness, model, args, env, authSelectedType = "auth_selected_type"
    }
}

public struct ResolveAuthRequest: Codable, Sendable, Equatable {
    public var config: HarnessConfig
    /// The method the user chose, if any; otherwise the plugin detects one.
    public var selected: String?
    public var hostEnv: [String: String]
    public var hostHome: String

    public init(config: HarnessConfig, selected: String?, hostEnv: [String: String], hostHome: String) {
        self.config = config
        self.selected = selected
        self.hostEnv = hostEnv
        self.hostHome = hostHome
    }

    enum CodingKeys: String, CodingKey {
        case config, selected, hostEnv = "host_env", hostHome = "host_home"
    }
}

/// A host file copied into the agent home.
public struct FileCopy: Codable, Sendable, Equatable {
    public var source: String
    /// Relative to the agent home.
    public var target: String
    public var mode: Int

    public init(source: String, target: String, mode: Int = 0o600) {
        self.source = source
        self.target = target
        self.mode = mode
    }
}

public struct ResolvedAuth: Codable, Sendable, Equatable {
    /// The chosen method's type, or "none".
    public var method: String
    /// Secret values: the host never logs or stores them.
    public var env: [String: String]
    public var files: [FileCopy]

    public init(method: String, env: [String: String] = [:], files: [FileCopy] = []) {
        self.method = method
        self.env = env
        self.files = files
    }
}

/// A file the harness wants in the agent home.
public struct HomeFile: Codable, Sendable, Equatable {
    /// Relative to the agent home.
    public var path: String
    public var content: String
    public var mode: Int

    public init(path: String, content: String, mode: Int = 0o644) {
        self.path = path
        self.content = content
        self.mode = mode
    }
}

public struct ProvisionRequest: Codable, Sendable, Equatable {
    public var agent: String
    public var task: String?
    /// Where the task is, byte for byte, in the agent's view (a file in its
    /// home, mode 0600); nil without a task or from an older host. A task
    /// too long for one argument (`HarnessLaunch.maxArgumentBytes`) must
    /// reach the harness through this file.
    public var taskFile: String?
    public var config: HarnessConfig
    public var home: String
    public var workdir: String
    /// Build the command that continues the previous session.
    public var resume: Bool
    public var instructions: String?
    public var systemPrompt: String?
    /// The argv the harness's hooks should run (an event name and the
    /// harness's JSON on stdin follow); nil when status hooks are off.
    public var hookCommand: [String]?
    /// What `resolve_auth` returned for this agent; nil with `--no-auth`.
    /// Harnesses use it to pre-accept the chosen credential in their own
    /// config (Claude's API-key approval, Gemini's selected auth type,
    /// Codex's auth.json). Secret: a file derived from it has mode 0o600.
    public var auth: ResolvedAuth?

    public init(
        agent: String, task: String?, config: HarnessConfig, home: String, workdir: String, resume: Bool,
        instructions: String? = nil, systemPrompt: String? = nil, hookCommand: [String]? = nil,
        auth: ResolvedAuth? = nil, taskFile: String? = nil
    ) {
        self.agent = agent
        self.task = task
        self.taskFile = taskFile
        self.config = config
        self.home = home
        self.workdir = workdir
        self.resume = resume
        self.instructions = instructions
        self.systemPrompt = systemPrompt
        self.hookCommand = hookCommand
        self.auth = auth
    }

    enum CodingKeys: String, CodingKey {
        case agent, task, taskFile = "task_file", config, home, workdir, resume, instructions
        case systemPrompt = "system_prompt", hookCommand = "hook_command", auth
    }
}

public struct Provision: Codable, Sendable, Equatable {
    public var command: [String]
    public var env: [String: String]
    public var files: [HomeFile]
    /// Where the harness reads its instructions, relative to the home.
    public var instructionsFile: String?

    public init(command: [String], env: [String: String] = [:], files: [HomeFile] = [], instructionsFile: String? = nil) {
        self.command = command
        self.env = env
        self.files = files
        self.instructionsFile = instructionsFile
    }

    enum CodingKeys: String, CodingKey {
        case command, env, files, instructionsFile = "instructions_file"
    }
}

public struct HookEvent: Codable, Sendable, Equatable {
    /// The event name the hook was invoked with.
    public var event: String
    public var payload: JSONValue

    public init(event: String, payload: JSONValue) {
        self.event = event
        self.payload = payload
    }
}

/// Activities, as the host shows them.
public enum Activity: String, Codable, Sendable, CaseIterable {
    case idle, thinking, executing
    case waitingForInput = "waiting_for_input"
    case blocked, completed
    case limitsExceeded = "limits_exceeded"
    case failed

    public init(from decoder: Decoder) throws { self = try decodeEnum(decoder) }

    /// Sticky activities stay until new work starts.
    public var isSticky: Bool {
        self == .waitingForInput || self == .blocked || self == .completed
    }
}

public struct ActivityUpdate: Codable, Sendable, Equatable {
    /// nil: the event does not change the activity.
    public var activity: Activity?
    public var message: String?

    public init(activity: Activity?, message: String? = nil) {
        self.activity = activity
        self.message = message
    }
}
