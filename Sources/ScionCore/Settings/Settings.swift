import Foundation
import ScionPluginKit

/// Settings after layering, typed. Every value can be traced to its origin
/// through `tree`.
public struct Settings: Sendable {
    public struct Runtime: Sendable {
        public var name: String
        /// Which runtime plugin runs it.
        public var type: String
        /// The whole entry, for the plugin's own keys.
        public var options: [String: JSONValue]
    }

    public struct HarnessSettings: Sendable {
        public var harness: String?
        public var image: String?
        public var model: String?
        public var args: [String]?
        public var env: [String: String]
        public var volumes: [String]
        public var authSelectedType: String?
    }

    public struct Profile: Sendable {
        public var name: String
        public var runtime: String
        public var env: [String: String]
        public var volumes: [String]
        public var imageRegistry: String?
        public var resources: RunSpec.Resources
        public var harnessOverrides: [String: HarnessSettings]
    }

    public var schemaVersion: String
    public var activeProfile: String
    public var defaultHarnessConfig: String
    public var defaultTemplate: String
    public var imageRegistry: String
    public var runtimes: [String: Runtime]
    public var profiles: [String: Profile]
    public var harnessConfigs: [String: HarnessSettings]
    public var pluginPaths: [String]
    /// `plugins.isolation` and friends (issue 12): which plugins run in a helper process.
    public var pluginIsolation: PluginIsolationPolicy
    public var gitAuthor: (name: String, email: String)?
    /// A tmux config file sourced by every agent session.
    public var tmuxConfig: String?
    public var useUserTmuxConfig: Bool
    public var notifyCommand: [String]?
    /// `agents.*`: limits on what agents start, and parent notifications.
    public var agents: AgentLimits
    /// `worktree.copy`: gitignore patterns of ignored files copied into a new worktree (with `.worktreeinclude`).
    public var worktreeCopy: [String] = []
    /// `worktree.symlink`: folders of the checkout linked into a new worktree (node_modules, .venv).
    public var worktreeSymlink: [String] = []
    /// `worktree.setup`: an argv run in the agent's runtime, in its worktree, before the harness starts.
    public var worktreeSetup: [String]?
    /// `worktree.setup_timeout`: seconds the start waits for the setup.
    public var worktreeSetupTimeout: Double = 600

    public let tree: SettingsNode
    public let warnings: [String]
    /// Values of an untrusted grove file that were left out (RepositoryTrust).
    public internal(set) var skippedUntrusted: [UntrustedValue] = []

    /// `userHome`: what `~` means in paths (the home whose `.scion` holds
    /// the global settings; in an agent, the user's, not the agent's).
    init(tree: SettingsNode, warnings: [String], userHome: String? = nil) throws {
        self.tree = tree
        self.warnings = warnings
        let root = SettingsReader(tree, path: "")
        schemaVersion = try root.string("schema_version") ?? "1"
        guard schemaVersion == "1" else {
            throw ScionError(
                .invalidSettings,
                "\(tree["schema_version"]?.origin.description ?? "settings"): schema_version \"\(schemaVersion)\" is not supported (this scion reads \"1\")")
        }
        activeProfile = try root.string("active_profile") ?? "local"
        defaultHarnessConfig = try root.string("default_harness_config") ?? "shell"
        defaultTemplate = try root.string("default_template") ?? "default"
        imageRegistry = try root.string("image_registry") ?? ""
        runtimes = try root.mapping("runtimes").reduce(into: [:]) { result, entry in
            let reader = entry.reader
            guard let type = try reader.string("type") else {
                throw ScionError(.invalidSettings, "\(entry.node.origin): runtimes.\(entry.key) has no \"type\" (the runtime plugin to use)")
            }
            let options = try RuntimeOptions.checked(
                type: type, options: try reader.json(), node: entry.node, path: "runtimes.\(entry.key)", home: userHome)
            result[entry.key] = Runtime(name: entry.key, type: type, options: options)
        }
        profiles = try root.mapping("profiles").reduce(into: [:]) { result, entry in
            let reader = entry.reader
            guard let runtime = try reader.string("runtime") else {
                throw ScionError(.invalidSettings, "\(entry.node.origin): profiles.\(entry.key) has no \"runtime\"")
            }
            result[entry.key] = Profile(
                name: entry.key, runtime: runtime, env: try reader.stringMap("env"),
                volumes: try reader.strings("volumes") ?? [], imageRegistry: try reader.string("image_registry"),
                resources: try Self.resources(reader),
                harnessOverrides: try reader.mapping("harness_overrides").reduce(into: [:]) {
                    $0[$1.key] = try Self.harnessSettings($1.reader)
                })
        }
        harnessConfigs = try root.mapping("harness_configs").reduce(into: [:]) {
            $0[$1.key] = try Self.harnessSettings($1.reader)
        }
        pluginPaths = (try root.strings("plugins.paths") ?? []).map { TildePath.expand($0, home: userHome) }
        pluginIsolation = try PluginIsolationPolicy.read(root)
        if let name = try root.string("git.author.name"), let email = try root.string("git.author.email") {
            gitAuthor = (name, email)
        }
        tmuxConfig = try root.string("tmux.config").map { TildePath.expand($0, home: userHome) }
        useUserTmuxConfig = try root.bool("tmux.use_user_config") ?? true
        notifyCommand = try root.strings("notify.command")
        agents = try AgentLimits(root)
        worktreeCopy = try root.strings("worktree.copy") ?? []
        worktreeSymlink = try root.strings("worktree.symlink") ?? []
        for path in worktreeSymlink where !WorktreeBootstrap.isRepositoryPath(path) {
            throw root.invalid("worktree.symlink", "\"\(path)\" is not a path inside the repository: use a relative path without `..`, such as node_modules")
        }
        worktreeSetup = try root.strings("worktree.setup").flatMap { $0.isEmpty ? nil : $0 }
        if let timeout = try root.string("worktree.setup_timeout") {
            guard let seconds = Double(timeout), seconds > 0 else {
                throw root.invalid("worktree.setup_timeout", "\"\(timeout)\" is not a number of seconds above zero")
            }
            worktreeSetupTimeout = seconds
        }
    }

    /// `resources: {memory, cpus}`; a value of another shape, or a size
    /// that is not one, is an error naming the file and line.
    private static func resources(_ reader: SettingsReader) throws -> RunSpec.Resources {
        _ = try reader.mapping("resources")
        let memory = try reader.string("resources.memory")
        let cpus = try reader.string("resources.cpus")
        if let memory, !ResourceSyntax.isMemory(memory) {
            throw reader.invalid("resources.memory", "\"\(memory)\" is not a memory size: use a number with an optional unit b, k, m, g or t (for example \"512m\" or \"2g\")")
        }
        if let cpus, !ResourceSyntax.isCPUs(cpus) {
            throw reader.invalid("resources.cpus", "\"\(cpus)\" is not a number of CPUs: use a number above zero (for example \"2\" or \"0.5\")")
        }
        return RunSpec.Resources(memory: memory, cpus: cpus)
    }

    private static func harnessSettings(_ reader: SettingsReader) throws -> HarnessSettings {
        HarnessSettings(
            harness: try reader.string("harness"), image: try reader.string("image"), model: try reader.string("model"),
            args: try reader.strings("args"), env: try reader.stringMap("env"),
            volumes: try reader.strings("volumes") ?? [], authSelectedType: try reader.string("auth_selected_type"))
    }
}

/// Typed reads from a settings tree; a value of the wrong shape is an error
/// that names its file, line and key.
struct SettingsReader {
    let node: SettingsNode
    let path: String

    init(_ node: SettingsNode, path: String) {
        self.node = node
        self.path = path
    }

    private func lookup(_ key: String) -> (node: SettingsNode, path: String)? {
        let keys = key.split(separator: ".").map(String.init)
        guard let found = node.node(at: keys), !found.isNull else { return nil }
        return (found, path.isEmpty ? key : "\(path).\(key)")
    }

    private func mismatch(_ found: (node: SettingsNode, path: String), _ expected: String) -> ScionError {
        ScionError(.invalidSettings, "\(found.node.origin): \(found.path) must be \(expected)")
    }

    /// An error about the value at `key` (which exists), with its file:line.
    func invalid(_ key: String, _ what: String) -> ScionError {
        let found = lookup(key)
        return ScionError(.invalidSettings, "\(found?.node.origin.description ?? "settings"): \(found?.path ?? key) \(what)")
    }

    func string(_ key: String) throws -> String? {
        guard let found = lookup(key) else { return nil }
        guard let text = found.node.scalar else { throw mismatch(found, "a single value") }
        return text
    }

    func bool(_ key: String) throws -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw mismatch(lookup(key)!, "true or false")
        }
    }

    func strings(_ key: String) throws -> [String]? {
        guard let found = lookup(key) else { return nil }
        guard let items = found.node.items else { throw mismatch(found, "a list") }
        return try items.map { item in
            guard let text = item.scalar else {
                throw ScionError(.invalidSettings, "\(item.origin): each entry of \(found.path) must be a single value")
            }
            return text
        }
    }

    func stringMap(_ key: String) throws -> [String: String] {
        try mapping(key).reduce(into: [:]) { result, entry in
            guard let text = entry.node.scalar else {
                throw ScionError(.invalidSettings, "\(entry.node.origin): \(entry.reader.path) must be a single value")
            }
            result[entry.key] = text
        }
    }

    func mapping(_ key: String) throws -> [(key: String, node: SettingsNode, reader: SettingsReader)] {
        guard let found = lookup(key) else { return [] }
        guard let entries = found.node.entries else { throw mismatch(found, "a mapping") }
        return entries.map { ($0.key, $0.node, SettingsReader($0.node, path: "\(found.path).\($0.key)")) }
    }

    /// This mapping as JSON, for plugins' own settings.
    func json() throws -> [String: JSONValue] {
        func convert(_ node: SettingsNode) -> JSONValue {
            switch node.value {
            case .null: return .null
            case .scalar(let text): return .string(text)
            case .sequence(let items): return .array(items.map(convert))
            case .mapping(let entries): return .object(Dictionary(entries.map { ($0.key, convert($0.node)) }) { $1 })
            }
        }
        guard case .object(let object) = convert(node) else { return [:] }
        return object
    }
}

/// What settings accept for resource limits (as docker and podman read them).
enum ResourceSyntax {
    /// "512m", "2g", "1.5G", "2GiB", "1048576"; empty means no limit.
    static func isMemory(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.isEmpty { return true }
        let numberEnd = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
        let number = String(trimmed[..<numberEnd])
        let unit = String(trimmed[numberEnd...]).trimmingCharacters(in: .whitespaces)
        let units: Set<String> = ["", "b", "k", "m", "g", "t", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib"]
        guard number.filter({ $0 == "." }).count <= 1, let value = Double(number), value > 0 else { return false }
        return units.contains(unit)
    }

    static func isCPUs(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return true }
        guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(trimmed) else { return false }
        return value > 0
    }
}
