import Foundation

/// Where a plugin runs: in scion's own process (the default, for speed) or
/// in a helper process (`scion-plugin-host`), so a plugin that crashes,
/// hangs or leaks fails one call instead of taking scion with it.
/// Settings: `plugins.isolation` (every plugin), `plugins.overrides.<name>.isolation`
/// (one plugin), `plugins.timeout_seconds`, `plugins.memory_limit_mb`.
public struct PluginIsolation: Sendable, Equatable, Hashable {
    public enum Mode: String, Sendable, CaseIterable {
        case inProcess = "in_process"
        case process
    }

    public var mode: Mode
    /// A call that neither answers nor streams an event for this long fails
    /// and the helper is ended (`logs`, which may wait for output for ever, is exempt).
    public var timeoutSeconds: Double
    /// The helper's resident memory above which it is ended and its call fails.
    public var memoryLimitMB: Int

    public static let defaultTimeoutSeconds: Double = 120
    public static let defaultMemoryLimitMB = 2048

    public init(mode: Mode = .inProcess, timeoutSeconds: Double = defaultTimeoutSeconds, memoryLimitMB: Int = defaultMemoryLimitMB) {
        self.mode = mode
        self.timeoutSeconds = timeoutSeconds
        self.memoryLimitMB = memoryLimitMB
    }

    public static let inProcess = PluginIsolation()
}

/// The isolation settings: one for every plugin, and per plugin name.
public struct PluginIsolationPolicy: Sendable, Equatable {
    public var global: PluginIsolation
    public var modes: [String: PluginIsolation.Mode]

    public init(global: PluginIsolation = .inProcess, modes: [String: PluginIsolation.Mode] = [:]) {
        self.global = global
        self.modes = modes
    }

    public func isolation(for name: String) -> PluginIsolation {
        var isolation = global
        if let mode = modes[name] { isolation.mode = mode }
        return isolation
    }

    /// The settings keys.
    public enum Key {
        public static let isolation = "plugins.isolation"
        public static let overrides = "plugins.overrides"
        public static let timeoutSeconds = "plugins.timeout_seconds"
        public static let memoryLimitMB = "plugins.memory_limit_mb"
    }

    static func mode(_ text: String?, _ reader: SettingsReader, key: String) throws -> PluginIsolation.Mode? {
        guard let text else { return nil }
        guard let mode = PluginIsolation.Mode(rawValue: text) else {
            throw reader.invalid(key, "is \"\(text)\"; use in_process (the default) or process (a helper process per plugin)")
        }
        return mode
    }

    static func read(_ root: SettingsReader) throws -> PluginIsolationPolicy {
        var global = PluginIsolation()
        global.mode = try mode(try root.string(Key.isolation), root, key: Key.isolation) ?? .inProcess
        if let text = try root.string(Key.timeoutSeconds) {
            guard let value = Double(text), value > 0 else {
                throw root.invalid(Key.timeoutSeconds, "is \"\(text)\"; use a number of seconds above zero")
            }
            global.timeoutSeconds = value
        }
        if let text = try root.string(Key.memoryLimitMB) {
            guard let value = Int(text), value >= 0 else {
                throw root.invalid(Key.memoryLimitMB, "is \"\(text)\"; use a whole number of megabytes (0: no limit)")
            }
            global.memoryLimitMB = value
        }
        var modes: [String: PluginIsolation.Mode] = [:]
        for entry in try root.mapping(Key.overrides) {
            modes[entry.key] = try mode(try entry.reader.string("isolation"), entry.reader, key: "isolation")
        }
        return PluginIsolationPolicy(global: global, modes: modes)
    }
}
