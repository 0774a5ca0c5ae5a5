import Foundation
import Yams

/// Changes one key in a settings file. The new file is checked (parsed and
/// layered) before it replaces the old one, atomically. Comments in the
/// file are not kept.
public enum SettingsEditor {
    public static func set(_ key: String, value: String, in file: String, loader: SettingsLoader) throws {
        let path = key.split(separator: ".").map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw ScionError(.invalidArgument, "\"\(key)\" is not a settings key (use dotted names like profiles.local.runtime)")
        }
        let origin = SettingsOrigin(file)
        let valueNode = try parseValue(value, origin: origin)
        let current = try SettingsLoader.readFile(file) ?? .emptyMapping(origin)
        var updated = current.setting(valueNode, at: path[...])
        if updated.node(at: ["schema_version"]) == nil {
            updated = updated.setting(SettingsNode(.scalar("1"), origin: origin), at: ["schema_version"])
        }
        let text = try SettingsParser.render(updated)
        _ = try SettingsParser.parse(text, source: file)
        let directory = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backup = FileManager.default.contents(atPath: file)
        // scion writes this for the user: a grove file the user trusted (or
        // that did not exist) stays trusted with its new content.
        let store = TrustStore(globalDirectory: loader.globalDirectory)
        let keepsTrust = file != SettingsLoader.settingsFile(in: loader.globalDirectory)
            && (backup == nil || store.state(of: file, data: backup!) == .trusted)
        try AtomicFile.write(text, to: file)
        if keepsTrust { try store.update(trust: [(file, Data(text.utf8))]) }
        do {
            _ = try loader.load()
        } catch {
            if let backup {
                try? AtomicFile.write(backup, to: file)
                if keepsTrust { try? store.update(trust: [(file, backup)]) }
            } else {
                try? FileManager.default.removeItem(atPath: file)
                if keepsTrust { try? store.update(trust: [], revoke: [file]) }
            }
            throw ScionError.wrap(error, "not saved: \(key)=\(value) would make the settings invalid")
        }
    }

    /// `[a, b]` and `{k: v}` are YAML; anything else is a plain string.
    static func parseValue(_ value: String, origin: SettingsOrigin) throws -> SettingsNode {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            let document = try SettingsParser.parse("value: \(trimmed)", source: origin.source)
            if let node = document["value"] { return node }
        }
        return SettingsNode(.scalar(value), origin: origin)
    }
}

/// Checks settings beyond their shape: names that refer to each other and
/// to installed plugins.
public enum SettingsValidator {
    public static func problems(_ settings: Settings, catalog: PluginCatalog) -> [String] {
        var problems: [String] = []
        func origin(_ path: String...) -> String { settings.tree.node(at: path)?.origin.description ?? "settings" }
        if settings.profiles[settings.activeProfile] == nil {
            problems.append("\(origin("active_profile")): active_profile \"\(settings.activeProfile)\" is not a defined profile (\(settings.profiles.keys.sorted().joined(separator: ", ")))")
        }
        if settings.harnessConfigs[settings.defaultHarnessConfig] == nil {
            problems.append("\(origin("default_harness_config")): default_harness_config \"\(settings.defaultHarnessConfig)\" is not a defined harness config")
        }
        for profile in settings.profiles.values.sorted(by: { $0.name < $1.name }) where settings.runtimes[profile.runtime] == nil {
            problems.append("\(origin("profiles", profile.name, "runtime")): profile \(profile.name) names runtime \"\(profile.runtime)\", which is not defined under runtimes")
        }
        let runtimes = catalog.names(kind: "runtime")
        for runtime in settings.runtimes.values.sorted(by: { $0.name < $1.name }) where !runtimes.contains(runtime.type) {
            problems.append("\(origin("runtimes", runtime.name, "type")): runtime \(runtime.name) has type \"\(runtime.type)\", but no runtime plugin of that name is installed (installed: \(runtimes.joined(separator: ", ")))")
        }
        let harnesses = catalog.names(kind: "harness")
        for (name, config) in settings.harnessConfigs.sorted(by: { $0.key < $1.key }) {
            guard let harness = config.harness else {
                problems.append("\(origin("harness_configs", name)): harness config \(name) names no harness")
                continue
            }
            if !harnesses.contains(harness) {
                problems.append("\(origin("harness_configs", name, "harness")): harness config \(name) uses harness \"\(harness)\", which is not installed (installed: \(harnesses.joined(separator: ", ")))")
            }
        }
        return problems
    }
}
