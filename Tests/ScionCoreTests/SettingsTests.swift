import Foundation
import ScionCore
import ScionTestSupport
import Testing

@Suite("settings layering: defaults < global < grove < SCION_* < flags")
struct SettingsTests {
    struct Layers {
        var global: String?
        var grove: String?
        var environment: [String: String] = [:]
        var flags: [SettingsLoader.Override] = []
    }

    func load(_ layers: Layers) throws -> Settings {
        let directory = try TemporaryDirectory()
        let globalDirectory = directory.path + "/home/.scion"
        let groveDirectory = directory.path + "/repo/.scion"
        if let global = layers.global { try directory.write("home/.scion/settings.yaml", global) }
        if let grove = layers.grove { try directory.write("repo/.scion/settings.yaml", grove) }
        return try SettingsLoader(
            globalDirectory: globalDirectory, groveDirectory: groveDirectory,
            environment: layers.environment, overrides: layers.flags
        ).load()
    }

    @Test("each layer overrides the ones below it", arguments: [
        (Layers(), "local", "built-in defaults"),
        (Layers(global: "active_profile: docker\n"), "docker", "home/.scion/settings.yaml:1"),
        (Layers(global: "active_profile: docker\n", grove: "active_profile: podman\n"), "podman", "repo/.scion/settings.yaml:1"),
        (Layers(grove: "active_profile: podman\n", environment: ["SCION_ACTIVE_PROFILE": "remote"]), "remote", "environment SCION_ACTIVE_PROFILE"),
        (Layers(grove: "active_profile: podman\n", environment: ["SCION_ACTIVE_PROFILE": "remote"],
                flags: [SettingsLoader.Override(path: "active_profile", value: "local", flag: "--profile")]), "local", "flag --profile"),
    ])
    func layering(layers: Layers, expected: String, origin: String) throws {
        let settings = try load(layers)
        #expect(settings.activeProfile == expected)
        #expect(settings.tree["active_profile"]?.origin.description.hasSuffix(origin) == true)
    }

    @Test("the grove's default_harness_config wins over the global one (a bug in the original)")
    func groveDefaultHarnessConfig() throws {
        let settings = try load(Layers(global: "default_harness_config: claude\n", grove: "default_harness_config: codex\n"))
        #expect(settings.defaultHarnessConfig == "codex")
    }

    @Test("maps merge deeply: a grove profile key keeps the other keys of the global profile")
    func deepMerge() throws {
        let settings = try load(Layers(
            global: "profiles:\n  docker:\n    runtime: docker\n    env: {A: global, B: global}\n",
            grove: "profiles:\n  docker:\n    env: {B: grove}\n"))
        let docker = try #require(settings.profiles["docker"])
        #expect(docker.runtime == "docker")
        #expect(docker.env == ["A": "global", "B": "grove"])
        #expect(settings.profiles["local"]?.runtime == "local", "built-in profiles survive")
    }

    @Test("a double underscore nests environment keys; SCION_ variables that are not settings are ignored")
    func environmentNesting() throws {
        let settings = try load(Layers(environment: [
            "SCION_PROFILES__LOCAL__RUNTIME": "docker", "SCION_AGENT": "not-a-setting", "SCION_GROVE": "/x",
        ]))
        #expect(settings.profiles["local"]?.runtime == "docker")
        #expect(settings.warnings.isEmpty)
    }

    @Test("malformed YAML is an error naming the file and line")
    func malformedYAML() throws {
        let error = try #require(throws: ScionError.self) {
            try load(Layers(grove: "schema_version: \"1\"\nprofiles:\n  local: {runtime: local\n"))
        }
        #expect(error.code == .invalidSettings)
        #expect(error.message.contains("repo/.scion/settings.yaml:"))
        #expect(error.message.contains("malformed YAML"))
    }

    @Test("a value of the wrong shape names file, line and key", arguments: [
        ("harness_configs:\n  shell:\n    args: sh\n", ":3: harness_configs.shell.args must be a list"),
        ("profiles:\n  local:\n    env: [a]\n", ":3: profiles.local.env must be a mapping"),
        ("tmux:\n  use_user_config: maybe\n", ":2: tmux.use_user_config must be true or false"),
        ("runtimes:\n  x: {host: h}\n", "runtimes.x has no \"type\""),
    ])
    func wrongShape(yaml: String, message: String) throws {
        let error = try #require(throws: ScionError.self) { try load(Layers(grove: yaml)) }
        #expect(error.message.contains(message), "got: \(error.message)")
    }

    @Test("unknown keys are warned about with file and line")
    func unknownKeys() throws {
        let settings = try load(Layers(grove: "active_profile: local\nactive_profil: x\nprofiles:\n  local:\n    runtime: local\n    colour: red\n"))
        #expect(settings.warnings.count == 2)
        #expect(settings.warnings[0].hasSuffix("settings.yaml:2: unknown settings key \"active_profil\" (ignored)"))
        #expect(settings.warnings[1].contains(":6: unknown settings key \"profiles.local.colour\""))
    }

    @Test("a duplicate key in one mapping is an error")
    func duplicateKeys() throws {
        let error = try #require(throws: ScionError.self) { try load(Layers(grove: "active_profile: a\nactive_profile: b\n")) }
        #expect(error.message.contains("settings.yaml:1: key \"active_profile\" appears twice"))
    }

    @Test("profile harness overrides apply to the harness config; an image registry prefixes bare images")
    func agentConfiguration() throws {
        let settings = try load(Layers(grove: """
            image_registry: registry.example/team
            active_profile: docker
            profiles:
              docker:
                runtime: docker
                env: {FROM: profile}
                harness_overrides:
                  claude: {image: claude-custom:1, env: {MODEL_HINT: fast}}
            """))
        let configuration = try AgentConfiguration.resolve(settings, harnessConfigName: "claude", image: nil)
        #expect(configuration.image == "registry.example/team/claude-custom:1")
        #expect(configuration.env == ["FROM": "profile", "MODEL_HINT": "fast"])
        #expect(configuration.runtime.type == "docker")
        let explicit = try AgentConfiguration.resolve(settings, harnessConfigName: "claude", image: "localhost/mine:2")
        #expect(explicit.image == "localhost/mine:2")
    }

    @Test("an undefined profile or harness config lists the defined ones")
    func undefinedNames() throws {
        let settings = try load(Layers(flags: [SettingsLoader.Override(path: "active_profile", value: "nope", flag: "--profile")]))
        let error = try #require(throws: ScionError.self) { try AgentConfiguration.resolve(settings, harnessConfigName: nil, image: nil) }
        #expect(error.message.contains("profile \"nope\" (active_profile, from flag --profile) is not defined; defined profiles: docker, local, podman, remote"))
        let fine = try load(Layers())
        let missing = try #require(throws: ScionError.self) { try AgentConfiguration.resolve(fine, harnessConfigName: "nah", image: nil) }
        #expect(missing.message.contains("harness config \"nah\" is not defined"))
    }

    @Test("volumes parse as source:target[:ro]; a missing source is an error")
    func volumes() throws {
        let directory = try TemporaryDirectory()
        try directory.write("data/x", "")
        let mounts = try AgentConfiguration.mounts(["data:/data:ro", "\(directory.path)/data:/rw"], relativeTo: directory.path)
        #expect(mounts.map(\.target) == ["/data", "/rw"])
        #expect(mounts.map(\.readOnly) == [true, false])
        #expect(mounts[0].source == directory.path + "/data")
        #expect(throws: ScionError.self) { try AgentConfiguration.mounts(["missing:/m"], relativeTo: directory.path) }
        #expect(throws: ScionError.self) { try AgentConfiguration.mounts(["data:relative"], relativeTo: directory.path) }
    }
}

@Suite("settings scalars")
struct SettingsScalarTests {
    @Test("plain ~, null, Null, NULL and an empty value are YAML nulls; quoted, they and numbers and booleans stay text",
          arguments: [
              ("key:\n", nil), ("key: ~\n", nil), ("key: null\n", nil), ("key: Null\n", nil), ("key: NULL\n", nil),
              ("key: !!null x\n", nil), ("key: \"null\"\n", "null"), ("key: '~'\n", "~"), ("key: \"\"\n", ""),
              ("key: nil\n", "nil"), ("key: 012\n", "012"), ("key: yes\n", "yes"), ("key: 1.50\n", "1.50"),
              ("key: 2026-12-01\n", "2026-12-01"),
          ] as [(String, String?)])
    func nullsAndText(yaml: String, expected: String?) throws {
        let directory = try TemporaryDirectory()
        try directory.write("home/.scion/settings.yaml", yaml)
        let settings = try SettingsLoader(
            globalDirectory: directory.path + "/home/.scion", groveDirectory: nil, environment: [:]).load()
        let node = try #require(settings.tree["key"])
        if let expected {
            #expect(node.scalar == expected)
        } else {
            #expect(node.isNull)
        }
    }
}
