import Foundation
import ScionPluginKit

/// Resolving an agent's spec once, at create (or on an explicit override),
/// and turning it back into the configuration a launch uses.
extension Orchestrator {
    /// The agent's spec. A record older than specs gets one resolved from
    /// today's settings for the record's own profile and runtime (stored
    /// when `persist`, which callers holding the agent's lock pass).
    func spec(for record: AgentRecord, persist: Bool = false) throws -> AgentSpec {
        if let spec = try store.loadSpec(record.name) { return spec }
        let spec = migratedSpec(record)
        if persist {
            try store.saveSpec(spec, for: record.name)
            logger.info("agent \(record.name): resolved its spec from today's settings (profile \(spec.profile)) and stored it")
        }
        return spec
    }

    private func migratedSpec(_ record: AgentRecord) -> AgentSpec {
        let profileName = settings.profiles[record.profile] != nil ? record.profile : nil
        let layers = try? templates.layers(record.template ?? BuiltInTemplate.defaultName)
        var spec: AgentSpec
        if let configuration = try? AgentConfiguration.resolve(
            settings, profileName: profileName, harnessConfigName: record.harnessConfig, image: record.image, template: layers) {
            spec = makeSpec(configuration, template: record.template, resolvedBy: "migrated")
        } else {
            let profile = Settings.Profile(
                name: record.profile, runtime: record.runtime, env: [:], volumes: [], imageRegistry: nil,
                resources: RunSpec.Resources(), harnessOverrides: [:])
            spec = AgentSpec(
                AgentConfiguration(
                    profile: profile, runtime: Settings.Runtime(name: record.runtime, type: record.runtimeType, options: [:]),
                    harnessConfig: HarnessConfig(name: record.harnessConfig, harness: record.harness),
                    image: record.image, env: [:], volumes: []),
                template: record.template, resolvedBy: "migrated")
        }
        // The instance lives where the record says, whatever the profile names now.
        if let runtime = settings.runtimes[record.runtime], runtime.type == record.runtimeType {
            spec.runtime = AgentSpec.Runtime(
                name: runtime.name, type: runtime.type, options: runtime.options.filter { !AgentSpec.isCredentialLike($0.key) })
        } else {
            spec.runtime = AgentSpec.Runtime(name: record.runtime, type: record.runtimeType, options: spec.runtime.type == record.runtimeType ? spec.runtime.options : [:])
        }
        spec.profile = record.profile
        spec.baseRef = record.baseRef
        spec.baseCommit = record.baseCommit
        return spec
    }

    /// The spec of a resolved configuration. Its env names and volumes are
    /// the settings' own (profile, harness config): the template's come
    /// from its layers at each launch, as trust allows then (RepositoryTrust).
    func makeSpec(_ configuration: AgentConfiguration, template: String?, resolvedBy: String) -> AgentSpec {
        var spec = AgentSpec(configuration, template: template, resolvedBy: resolvedBy)
        if let own = try? AgentConfiguration.resolve(
            settings, profileName: configuration.profile.name, harnessConfigName: configuration.harnessConfig.name,
            image: configuration.image) {
            spec.env = own.env.keys.sorted()
            spec.volumes = own.volumes
        }
        return spec
    }

    /// The configuration a launch uses: everything from the spec; env
    /// values (never stored) from today's settings for the spec's profile;
    /// the template's env and volumes (under the settings' own) from its
    /// layers, restricted as trust says now.
    func configuration(from spec: AgentSpec, template: TemplateLayers, agent: String) -> AgentConfiguration {
        let today = try? AgentConfiguration.resolve(
            settings, profileName: settings.profiles[spec.profile] != nil ? spec.profile : nil,
            harnessConfigName: spec.harnessConfig.name, image: spec.image, template: template)
        var env: [String: String] = [:]
        var missing: [String] = []
        for name in spec.env {
            if let value = today?.env[name] { env[name] = value } else { missing.append(name) }
        }
        for (name, value) in template.env where env[name] == nil { env[name] = value }
        if !missing.isEmpty {
            logger.warning("agent \(agent): \(missing.joined(separator: ", ")) no longer set for profile \(spec.profile) in the settings; launching without \(missing.count == 1 ? "it" : "them")")
        }
        var harnessConfig = spec.harnessConfig
        for name in spec.harnessEnv { harnessConfig.env[name] = today?.harnessConfig.env[name] }
        let profile = Settings.Profile(
            name: spec.profile, runtime: spec.runtime.name, env: [:], volumes: [], imageRegistry: nil,
            resources: spec.resources, harnessOverrides: [:])
        return AgentConfiguration(
            profile: profile,
            runtime: Settings.Runtime(name: spec.runtime.name, type: spec.runtime.type, options: spec.runtimeOptions(settings)),
            harnessConfig: harnessConfig, image: spec.image, env: env, volumes: template.volumes + spec.volumes)
    }

    /// `resume --profile <name>`: the spec resolved again from today's
    /// settings with that profile; harness config, template and image
    /// (when the agent has one) stay the agent's.
    func respecified(_ spec: AgentSpec, record: AgentRecord, profile: String) throws -> AgentSpec {
        let layers = try templates.layers(record.template ?? BuiltInTemplate.defaultName)
        let configuration = try AgentConfiguration.resolve(
            settings, profileName: profile, harnessConfigName: spec.harnessConfig.name, image: spec.image, template: layers)
        var updated = makeSpec(configuration, template: record.template, resolvedBy: "resume --profile \(profile)")
        updated.baseRef = spec.baseRef
        updated.baseCommit = spec.baseCommit
        return updated
    }

    /// The runtime driver of the spec, bound to the spec's options.
    func runtime(for spec: AgentSpec, wantedBy: String) throws -> any RuntimeDriver {
        try drivers.runtime(type: spec.runtime.type, options: spec.runtimeOptions(settings), catalog: catalog, wantedBy: wantedBy)
    }
}
