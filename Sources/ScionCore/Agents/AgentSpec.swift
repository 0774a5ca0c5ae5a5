import Foundation
import ScionPluginKit

/// What an agent was resolved to at create (`.scion/agents/<name>/spec.json`,
/// beside the record, outside the agent-writable home and workspace): its
/// profile, its runtime with a snapshot of that runtime's options, its
/// harness config, image, the names of its environment variables, volumes,
/// resources, template and base. Every later operation (launch, resume,
/// stop, list, logs, exec, delete) uses it instead of re-reading today's
/// settings; `resume --profile` re-resolves it explicitly.
///
/// It never holds a secret: environment values and option keys that look
/// like credentials (`token`, `password`, ...) are not stored; they are read
/// from today's settings, for the spec's own profile and runtime, at launch.
public struct AgentSpec: Codable, Sendable, Equatable {
    public struct Runtime: Codable, Sendable, Equatable {
        /// The settings name (`runtimes.<name>`).
        public var name: String
        /// The runtime plugin.
        public var type: String
        /// `runtimes.<name>` as it was, without credential-like keys.
        public var options: [String: JSONValue]
    }

    public var schemaVersion: Int = 1
    public var profile: String
    public var runtime: Runtime
    /// The resolved harness config, without its env values (see `harnessEnv`).
    public var harnessConfig: HarnessConfig
    /// Names of the harness config's env entries.
    public var harnessEnv: [String]
    public var image: String?
    /// Names of the agent's env entries (template, profile, harness config).
    public var env: [String]
    public var volumes: [String]
    public var resources: RunSpec.Resources
    public var template: String?
    public var baseRef: String?
    public var baseCommit: String?
    /// `worktree.setup` at create, run once before the harness's first start (issue 13).
    public var setup: [String]? = nil
    public var setupTimeout: Double? = nil
    /// Folders of the checkout linked into the worktree (`worktree.symlink`);
    /// a container runtime mounts them at the same paths so the links resolve.
    public var linkedFolders: [String]? = nil
    /// How it was resolved: `create`, `resume --profile <p>`, or `migrated`
    /// (a record older than specs, resolved once from the settings then).
    public var resolvedBy: String
    public var resolvedAt: Date

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", profile, runtime, harnessConfig = "harness_config"
        case harnessEnv = "harness_env", image, env, volumes, resources, template
        case setup, setupTimeout = "setup_timeout", linkedFolders = "linked_folders"
        case baseRef = "base_ref", baseCommit = "base_commit", resolvedBy = "resolved_by", resolvedAt = "resolved_at"
    }

    /// An option key that may hold a credential: never stored in a spec.
    static func isCredentialLike(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["token", "secret", "password", "passwd", "credential", "auth", "apikey", "api_key", "private"]
            .contains { lowered.contains($0) }
    }

    init(_ configuration: AgentConfiguration, template: String?, resolvedBy: String) {
        profile = configuration.profile.name
        runtime = Runtime(
            name: configuration.runtime.name, type: configuration.runtime.type,
            options: configuration.runtime.options.filter { !Self.isCredentialLike($0.key) })
        var config = configuration.harnessConfig
        harnessEnv = config.env.keys.sorted()
        config.env = [:]
        harnessConfig = config
        image = configuration.image
        env = configuration.env.keys.sorted()
        volumes = configuration.volumes
        resources = configuration.profile.resources
        self.template = template
        self.resolvedBy = resolvedBy
        resolvedAt = Date()
    }

    /// The runtime's options for a call: the snapshot, with credential-like
    /// keys from today's settings of the same runtime.
    func runtimeOptions(_ settings: Settings) -> [String: JSONValue] { runtime.options(settings) }
}

extension AgentSpec.Runtime {
    /// The options for a call: the snapshot, with credential-like keys
    /// from today's settings of the same runtime.
    func options(_ settings: Settings) -> [String: JSONValue] {
        let today = settings.runtimes[name]
        guard let today, today.type == type else { return options }
        return options.merging(today.options.filter { AgentSpec.isCredentialLike($0.key) }) { $1 }
    }
}

extension AgentStore {
    public func specPath(_ name: String) -> String { directory(name) + "/spec.json" }

    /// The agent's spec; nil for agents created before specs existed.
    public func loadSpec(_ name: String) throws -> AgentSpec? {
        guard let data = FileManager.default.contents(atPath: specPath(name)) else { return nil }
        do {
            return try Self.decoder.decode(AgentSpec.self, from: data)
        } catch {
            throw ScionError(.internal, "agent spec \(specPath(name)) is damaged: \(error); delete the file and scion resolves it again from the settings", cause: error)
        }
    }

    /// Only the spec's runtime (what `list` needs of every agent, without
    /// decoding the rest); nil when the spec is missing or unreadable, and
    /// the caller falls back to the whole spec, which says what is wrong.
    func loadSpecRuntime(_ name: String) -> AgentSpec.Runtime? {
        struct RuntimeOnly: Decodable { var runtime: AgentSpec.Runtime }
        guard let data = FileManager.default.contents(atPath: specPath(name)) else { return nil }
        return try? Self.decoder.decode(RuntimeOnly.self, from: data).runtime
    }

    public func saveSpec(_ spec: AgentSpec, for name: String) throws {
        try AtomicFile.write(Self.encoder.encode(spec), to: specPath(name), durable: false)
    }
}
