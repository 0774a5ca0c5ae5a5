import Foundation
import ScionPluginKit

/// What settings say one agent should be: its profile, runtime, harness
/// config (with the profile's overrides applied), image, env and volumes.
public struct AgentConfiguration: Sendable {
    public var profile: Settings.Profile
    public var runtime: Settings.Runtime
    public var harnessConfig: HarnessConfig
    public var image: String?
    public var env: [String: String]
    public var volumes: [String]

    /// Resolves the configuration; errors name the setting and where it came from.
    /// A template's harness config is the default when none is named; its
    /// env and volumes go under the profile's and the harness config's.
    /// `profileName`: an agent's own profile (its spec's), else the active one.
    public static func resolve(
        _ settings: Settings, profileName explicitProfile: String? = nil, harnessConfigName: String?, image: String?,
        template: TemplateLayers? = nil
    ) throws -> AgentConfiguration {
        let profileName = explicitProfile ?? settings.activeProfile
        guard let profile = settings.profiles[profileName] else {
            let origin = explicitProfile != nil ? "the profile asked for" : "active_profile, from " + (settings.tree["active_profile"]?.origin.description ?? "settings")
            throw ScionError(.invalidSettings, "profile \"\(profileName)\" (\(origin)) is not defined; defined profiles: \(settings.profiles.keys.sorted().joined(separator: ", "))")
        }
        guard let runtime = settings.runtimes[profile.runtime] else {
            let origin = settings.tree.node(at: ["profiles", profileName, "runtime"])?.origin.description ?? "settings"
            throw ScionError(.invalidSettings, "\(origin): profile \(profileName) names runtime \"\(profile.runtime)\", which is not defined under runtimes; defined: \(settings.runtimes.keys.sorted().joined(separator: ", "))")
        }
        let configName = harnessConfigName ?? template?.harnessConfig ?? settings.defaultHarnessConfig
        guard let base = settings.harnessConfigs[configName] else {
            let origin = harnessConfigName == nil && template?.harnessConfig != nil ? " (the default of template \(template!.name))" : ""
            throw ScionError(.invalidSettings, "harness config \"\(configName)\"\(origin) is not defined; defined: \(settings.harnessConfigs.keys.sorted().joined(separator: ", ")) (settings key harness_configs)")
        }
        let override = profile.harnessOverrides[configName]
        guard let harness = override?.harness ?? base.harness else {
            throw ScionError(.invalidSettings, "harness config \"\(configName)\" names no harness (harness_configs.\(configName).harness)")
        }
        let config = HarnessConfig(
            name: configName, harness: harness,
            model: override?.model ?? template?.model(forHarnessConfig: configName) ?? base.model,
            args: override?.args ?? base.args ?? [],
            env: base.env.merging(override?.env ?? [:]) { $1 },
            authSelectedType: override?.authSelectedType ?? base.authSelectedType)
        var resolvedImage = image ?? override?.image ?? base.image
        let registry = profile.imageRegistry ?? settings.imageRegistry
        if let current = resolvedImage, !registry.isEmpty, !Self.hasRegistry(current) {
            resolvedImage = registry.hasSuffix("/") ? registry + current : registry + "/" + current
        }
        return AgentConfiguration(
            profile: profile, runtime: runtime, harnessConfig: config, image: resolvedImage,
            env: (template?.env ?? [:]).merging(profile.env) { $1 }.merging(config.env) { $1 },
            volumes: (template?.volumes ?? []) + profile.volumes + base.volumes + (override?.volumes ?? []))
    }

    /// `registry.example/x`, `localhost/x` and `host:5000/x` name a registry.
    static func hasRegistry(_ image: String) -> Bool {
        guard let first = image.split(separator: "/").first, image.contains("/") else { return false }
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    /// Parses `source:target[:ro]` volume strings; a source that does not
    /// exist is an error, and so is a relative one that leads out of `base`
    /// (errors name the entry in `settings`).
    public static func mounts(_ volumes: [String], relativeTo base: String, settings: SettingsNode? = nil) throws -> [RunSpec.Mount] {
        try volumes.map { volume in
            let parts = volume.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || (parts.count == 3 && ["ro", "rw"].contains(parts[2])),
                  !parts[0].isEmpty, parts[1].hasPrefix("/")
            else {
                throw ScionError(.invalidSettings, "volume \"\(volume)\" must be source:/absolute/target[:ro]")
            }
            let source = try VolumeSource.resolve(parts[0], base: base) { VolumeSource.origin(of: volume, in: settings) }
            guard FileManager.default.fileExists(atPath: source) else {
                throw ScionError(.invalidSettings, "volume \"\(volume)\": source \(source) does not exist")
            }
            return RunSpec.Mount(source: source, target: parts[1], readOnly: parts.count == 3 && parts[2] == "ro")
        }
    }
}
