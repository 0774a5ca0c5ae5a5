/// `describe`: what a plugin is. Every kind answers it.
public struct PluginDescription: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var name: String
    public var kind: String
    public var version: String
    public var description: String
    /// The operations the plugin supports (SCION_OP_* names); nil from a
    /// 1.0 plugin, which did not say.
    public var operations: [String]?

    public init(name: String, kind: String, version: String, description: String, operations: [String]? = nil) {
        self.schemaVersion = 1
        self.name = name
        self.kind = kind
        self.version = version
        self.description = description
        self.operations = operations
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, kind, version, description, operations
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(String.self, forKey: .kind)
        version = try container.decode(String.self, forKey: .version)
        description = try container.decode(String.self, forKey: .description)
        operations = try container.decodeIfPresent([String].self, forKey: .operations)
    }
}

/// An empty JSON object, for requests and responses that carry nothing.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// A request or response that names one agent in a runtime.
public struct AgentTarget: Codable, Sendable, Equatable {
    public var name: String
    public var handle: String
    /// The `runtimes.<name>` settings entry (as in RunSpec.runtimeConfig), so
    /// a runtime reaches the same engine it ran the agent on. Optional.
    public var runtimeConfig: [String: JSONValue]?
    /// The agent's home on the host. Optional; with an empty `handle` it
    /// lets a runtime whose state is derived from the home (local) find an
    /// instance whose handle was never recorded.
    public var home: String?

    public init(name: String, handle: String, runtimeConfig: [String: JSONValue]? = nil, home: String? = nil) {
        self.name = name
        self.handle = handle
        self.runtimeConfig = runtimeConfig
        self.home = home
    }

    enum CodingKeys: String, CodingKey {
        case name, handle, runtimeConfig = "runtime_config", home
    }
}
