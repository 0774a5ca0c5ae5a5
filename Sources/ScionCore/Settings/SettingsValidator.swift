import Foundation

/// Checks settings beyond their shape: names that refer to each other, to
/// installed plugins and to files.
///
/// A built-in runtime or harness config whose plugin is not installed (the
/// `remote` profile's `kubernetes` on most machines) is only unavailable:
/// a note, not a problem, unless the active profile or the default harness
/// config needs it. One the user defined is a problem.
public enum SettingsValidator {
    public struct Finding: Sendable, Equatable {
        public enum Severity: String, Sendable { case problem, unavailable }
        public var severity: Severity
        public var message: String
    }

    /// Problems only (what makes `config validate` exit 2).
    public static func problems(_ settings: Settings, catalog: PluginCatalog) -> [String] {
        findings(settings, catalog: catalog).filter { $0.severity == .problem }.map(\.message)
    }

    /// Problems in the settings themselves, whatever is installed: what
    /// `config set` refuses.
    public static func referenceProblems(_ settings: Settings) -> [String] {
        var problems: [String] = []
        func origin(_ path: String...) -> String { settings.tree.node(at: path)?.origin.description ?? "settings" }
        if settings.profiles[settings.activeProfile] == nil {
            problems.append("\(origin("active_profile")): active_profile \"\(settings.activeProfile)\" is not a defined profile (defined: \(settings.profiles.keys.sorted().joined(separator: ", ")))")
        }
        if settings.harnessConfigs[settings.defaultHarnessConfig] == nil {
            problems.append("\(origin("default_harness_config")): default_harness_config \"\(settings.defaultHarnessConfig)\" is not a defined harness config (defined: \(settings.harnessConfigs.keys.sorted().joined(separator: ", ")))")
        }
        for profile in settings.profiles.values.sorted(by: { $0.name < $1.name }) where settings.runtimes[profile.runtime] == nil {
            problems.append("\(origin("profiles", profile.name, "runtime")): profile \(profile.name) names runtime \"\(profile.runtime)\", which is not defined under runtimes (defined: \(settings.runtimes.keys.sorted().joined(separator: ", ")))")
        }
        for (name, config) in settings.harnessConfigs.sorted(by: { $0.key < $1.key }) where config.harness == nil {
            problems.append("\(origin("harness_configs", name)): harness config \(name) names no harness")
        }
        if let problem = tmuxConfigProblem(settings) { problems.append(problem) }
        return problems
    }

    public static func findings(_ settings: Settings, catalog: PluginCatalog) -> [Finding] {
        var findings = referenceProblems(settings).map { Finding(severity: .problem, message: $0) }
        func origin(_ path: String...) -> SettingsOrigin? { settings.tree.node(at: path)?.origin }
        let active = settings.profiles[settings.activeProfile]
        let runtimes = catalog.names(kind: "runtime")
        for runtime in settings.runtimes.values.sorted(by: { $0.name < $1.name }) where !runtimes.contains(runtime.type) {
            let users = settings.profiles.values.filter { $0.runtime == runtime.name }.map(\.name).sorted()
            let where_ = origin("runtimes", runtime.name, "type")
            let builtIn = where_ == .builtIn
            let needed = active?.runtime == runtime.name
            let usedBy = users.isEmpty ? "" : " (used by profile\(users.count == 1 ? "" : "s") \(users.joined(separator: ", ")))"
            if builtIn && !needed {
                findings.append(Finding(
                    severity: .unavailable,
                    message: "runtime \(runtime.name)\(usedBy) is unavailable: no runtime plugin \"\(runtime.type)\" is installed"))
            } else {
                findings.append(Finding(
                    severity: .problem,
                    message: "\(where_?.description ?? "settings"): runtime \(runtime.name)\(usedBy) has type \"\(runtime.type)\", but no runtime plugin of that name is installed (installed: \(runtimes.joined(separator: ", ")))"))
            }
        }
        let harnesses = catalog.names(kind: "harness")
        for (name, config) in settings.harnessConfigs.sorted(by: { $0.key < $1.key }) {
            guard let harness = config.harness, !harnesses.contains(harness) else { continue }
            let where_ = origin("harness_configs", name, "harness")
            if where_ == .builtIn && name != settings.defaultHarnessConfig {
                findings.append(Finding(
                    severity: .unavailable, message: "harness config \(name) is unavailable: no harness plugin \"\(harness)\" is installed"))
            } else {
                findings.append(Finding(
                    severity: .problem,
                    message: "\(where_?.description ?? "settings"): harness config \(name) uses harness \"\(harness)\", which is not installed (installed: \(harnesses.joined(separator: ", ")))"))
            }
        }
        return findings
    }

    /// `tmux.config` names a file that must exist.
    static func tmuxConfigProblem(_ settings: Settings) -> String? {
        guard let path = settings.tmuxConfig else { return nil }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { return nil }
        let origin = settings.tree.node(at: ["tmux", "config"])?.origin.description ?? "settings"
        return "\(origin): tmux.config names \(path), which is not a file: create it, or remove the setting with `scion config unset tmux.config`"
    }

    static func checkTmuxConfig(_ settings: Settings) throws {
        if let problem = tmuxConfigProblem(settings) { throw ScionError(.invalidSettings, problem) }
    }
}
