import Foundation

/// Reads and layers settings: built-in defaults < ~/.scion/settings.yaml <
/// .scion/settings.yaml < SCION_* environment < command-line flags.
public struct SettingsLoader: Sendable {
    /// A value given on the command line, for example `--profile docker`.
    public struct Override: Sendable {
        public var path: [String]
        public var value: String
        public var flag: String

        public init(path: String, value: String, flag: String) {
            self.path = path.split(separator: ".").map(String.init)
            self.value = value
            self.flag = flag
        }
    }

    public var globalDirectory: String
    public var groveDirectory: String?
    public var environment: [String: String]
    public var overrides: [Override]
    /// True to take the grove's settings whole, trusted or not (tests of
    /// layering); by default an untrusted grove file loses the values that
    /// need trust (RepositoryTrust).
    public var trustsRepository: Bool
    /// Whether load() says on stderr what it skipped (once per process).
    public var announcesSkipped = true

    public init(
        globalDirectory: String, groveDirectory: String?, environment: [String: String], overrides: [Override] = [],
        trustsRepository: Bool = false
    ) {
        self.globalDirectory = globalDirectory
        self.groveDirectory = groveDirectory
        self.environment = environment
        self.overrides = overrides
        self.trustsRepository = trustsRepository
    }

    public static func settingsFile(in directory: String) -> String { directory + "/settings.yaml" }

    /// What `~` means in settings paths: the folder holding the global
    /// `.scion` (the user's home, also when scion runs inside an agent).
    public var userHome: String { (globalDirectory as NSString).deletingLastPathComponent }

    public func load() throws -> Settings {
        var warnings: [String] = []
        let builtIn = try SettingsParser.parse(BuiltInSettings.yaml, source: SettingsOrigin.builtIn.source)
            .stamped(SettingsOrigin.builtIn)
        var layers: [SettingsNode] = []
        var untrustedGrove: (index: Int, layer: SettingsNode, state: TrustStore.State, path: String)?
        var directories = [globalDirectory]
        if let groveDirectory, groveDirectory != globalDirectory { directories.append(groveDirectory) }
        for directory in directories {
            let path = Self.settingsFile(in: directory)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let layer = try Self.parse(data, path: path)
            warnings += SettingsSchema.root.unknownKeys(in: layer)
            if directory != globalDirectory, trustsRepository == false {
                let state = TrustStore(globalDirectory: globalDirectory).state(of: path, data: data)
                if state != .trusted { untrustedGrove = (layers.count, layer, state, path) }
            }
            layers.append(layer)
        }
        var skipped: [UntrustedValue] = []
        if let untrustedGrove {
            // First without the values that always need trust, to learn which
            // profiles run agents as host processes; then without those too.
            layers[untrustedGrove.index] = RepositoryTrust.restrict(
                untrustedGrove.layer, hostProcessProfiles: [], harnessConfigsRunOnHost: false).layer
            let first = try Settings(tree: layered(builtIn, layers), warnings: [], userHome: userHome)
            let onHost = Set(first.profiles.values.filter { first.runtimes[$0.runtime]?.type == "local" }.map(\.name))
            let restricted = RepositoryTrust.restrict(
                untrustedGrove.layer, hostProcessProfiles: onHost, harnessConfigsRunOnHost: onHost.contains(first.activeProfile))
            layers[untrustedGrove.index] = restricted.layer
            skipped = restricted.skipped
            if announcesSkipped { RepositoryTrust.announce(skipped, file: untrustedGrove.path, state: untrustedGrove.state) }
        }
        var settings = try Settings(tree: layered(builtIn, layers), warnings: warnings, userHome: userHome)
        settings.skippedUntrusted = skipped
        return settings
    }

    /// The layers merged, then SCION_* variables and flags on top.
    private func layered(_ builtIn: SettingsNode, _ layers: [SettingsNode]) -> SettingsNode {
        var tree = layers.reduce(builtIn) { $0.merged(with: $1) }
        for (path, value, name) in environmentOverrides() {
            tree = tree.setting(SettingsNode(.scalar(value), origin: SettingsOrigin("environment \(name)")), at: path[...])
        }
        for override in overrides {
            tree = tree.setting(SettingsNode(.scalar(override.value), origin: SettingsOrigin("flag \(override.flag)")), at: override.path[...])
        }
        return tree
    }

    /// The parsed file, or nil when it does not exist.
    static func readFile(_ path: String) throws -> SettingsNode? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws -> SettingsNode {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScionError(.invalidSettings, "\(path): not UTF-8 text")
        }
        return try SettingsParser.parse(text, source: path)
    }

    /// `SCION_ACTIVE_PROFILE=x` sets `active_profile`; a double underscore
    /// nests (`SCION_PROFILES__LOCAL__RUNTIME`). Only variables naming a
    /// known top-level key count, so the SCION_* variables scion gives its
    /// agents are not read as settings.
    func environmentOverrides() -> [(path: [String], value: String, name: String)] {
        environment.keys.sorted().compactMap { name in
            guard name.hasPrefix("SCION_"), let value = environment[name] else { return nil }
            // Settings keys are lowercase; the names under an `env` mapping
            // are environment variable names and keep their case.
            var path: [String] = []
            for part in name.dropFirst("SCION_".count).components(separatedBy: "__") {
                path.append(path.last == "env" ? part : part.lowercased())
            }
            guard let first = path.first, SettingsSchema.topLevelKeys.contains(first) else { return nil }
            return (path, value, name)
        }
    }
}

extension SettingsNode {
    /// Gives every node the same origin (for the built-in layer).
    func stamped(_ origin: SettingsOrigin) -> SettingsNode {
        let stampedValue: Value
        switch value {
        case .mapping(let entries): stampedValue = .mapping(entries.map { ($0.key, $0.node.stamped(origin)) })
        case .sequence(let items): stampedValue = .sequence(items.map { $0.stamped(origin) })
        default: stampedValue = value
        }
        return SettingsNode(stampedValue, origin: origin, keyOrigin: keyOrigin.map { _ in origin })
    }
}
