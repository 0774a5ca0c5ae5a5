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

    public init(globalDirectory: String, groveDirectory: String?, environment: [String: String], overrides: [Override] = []) {
        self.globalDirectory = globalDirectory
        self.groveDirectory = groveDirectory
        self.environment = environment
        self.overrides = overrides
    }

    public static func settingsFile(in directory: String) -> String { directory + "/settings.yaml" }

    public func load() throws -> Settings {
        var warnings: [String] = []
        var tree = try SettingsParser.parse(BuiltInSettings.yaml, source: SettingsOrigin.builtIn.source)
            .stamped(SettingsOrigin.builtIn)
        var directories = [globalDirectory]
        if let groveDirectory, groveDirectory != globalDirectory { directories.append(groveDirectory) }
        for directory in directories {
            let path = Self.settingsFile(in: directory)
            guard let layer = try Self.readFile(path) else { continue }
            warnings += SettingsSchema.root.unknownKeys(in: layer)
            tree = tree.merged(with: layer)
        }
        for (path, value, name) in environmentOverrides() {
            tree = tree.setting(SettingsNode(.scalar(value), origin: SettingsOrigin("environment \(name)")), at: path[...])
        }
        for override in overrides {
            tree = tree.setting(SettingsNode(.scalar(override.value), origin: SettingsOrigin("flag \(override.flag)")), at: override.path[...])
        }
        return try Settings(tree: tree, warnings: warnings, home: environment["HOME"])
    }

    /// The parsed file, or nil when it does not exist.
    static func readFile(_ path: String) throws -> SettingsNode? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
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
            let path = name.dropFirst("SCION_".count).lowercased().components(separatedBy: "__")
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
