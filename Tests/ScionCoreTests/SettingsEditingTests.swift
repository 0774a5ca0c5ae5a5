import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// Issue 8, defect 6: `config set` keeps the file as written, refuses what
/// would be invalid; `config unset`; env names keep their case; resources
/// and `~`.
@Suite("settings: editing, validation, env names, resources, ~")
struct SettingsEditingTests {
    struct World {
        let directory: TemporaryDirectory
        var file: String { directory.path + "/repo/.scion/settings.yaml" }
        var loader: SettingsLoader {
            SettingsLoader(
                globalDirectory: directory.path + "/home/.scion", groveDirectory: directory.path + "/repo/.scion",
                environment: [:], trustsRepository: true)
        }
        init(_ text: String) throws {
            directory = try TemporaryDirectory()
            try directory.write("repo/.scion/settings.yaml", text)
        }
        var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }
        func set(_ key: String, _ value: String) throws { try SettingsEditor.set(key, value: value, in: file, loader: loader) }
        func unset(_ key: String) throws { try SettingsEditor.unset(key, in: file, loader: loader) }
    }

    static let commented = """
        # my settings
        schema_version: "1"
        active_profile: local   # the usual one
        profiles:
          # the docker one
          docker:
            runtime: docker
            resources: { memory: "2g", cpus: '1' }
          local:
            runtime: local
        image_registry: 'registry.example'  # team registry

        """

    @Test("config set changes only the key's text: comments, quoting and order stay")
    func setKeepsText() throws {
        let world = try World(Self.commented)
        try world.set("active_profile", "docker")
        try world.set("profiles.docker.resources.memory", "4g")
        try world.set("image_registry", "other.example")
        #expect(world.text == Self.commented
            .replacingOccurrences(of: "active_profile: local", with: "active_profile: docker")
            .replacingOccurrences(of: "memory: \"2g\"", with: "memory: \"4g\"")
            .replacingOccurrences(of: "'registry.example'", with: "'other.example'"))
    }

    @Test("config set replaces a one-line flow value in place")
    func setReplacesFlowValue() throws {
        let world = try World(Self.commented)
        try world.set("profiles.docker.resources", "{memory: 1g}")
        #expect(world.text == Self.commented.replacingOccurrences(
            of: "{ memory: \"2g\", cpus: '1' }", with: "{memory: 1g}"))
        // A key inside a flow mapping is removed by writing the file out whole.
        try world.unset("profiles.docker.resources.memory")
        #expect(try world.loader.load().profiles["docker"]?.resources.memory == nil)
        #expect(try world.loader.load().profiles["docker"]?.runtime == "docker")
    }

    @Test("config set adds a new key next to its siblings and keeps everything else")
    func setAddsKey() throws {
        let world = try World(Self.commented)
        try world.set("profiles.local.env", "{MY_TOKEN: x}")
        try world.set("default_harness_config", "generic")
        try world.set("profiles.local.resources.cpus", "2")
        #expect(world.text == Self.commented
            .replacingOccurrences(of: "    runtime: local\n", with: "    runtime: local\n    env: {MY_TOKEN: x}\n    resources:\n      cpus: \"2\"\n")
            + "default_harness_config: generic\n")
        let settings = try world.loader.load()
        #expect(settings.profiles["local"]?.env == ["MY_TOKEN": "x"])
        #expect(settings.profiles["local"]?.resources.cpus == "2")
    }

    @Test("values that YAML would read as numbers or booleans are written quoted, so they stay strings")
    func quotesWhatWouldChangeType() throws {
        let world = try World("schema_version: \"1\"\n")
        try world.set("git.author.name", "true")
        try world.set("image_registry", "a: b")
        try world.set("default_template", "plain")
        #expect(world.text.contains("name: \"true\"\n"))
        #expect(world.text.contains("image_registry: \"a: b\"\n"))
        #expect(world.text.contains("default_template: plain\n"))
        #expect(world.text.hasPrefix("schema_version: \"1\"\n"))
        #expect(try world.loader.load().imageRegistry == "a: b")
    }

    @Test("config unset removes the key and the mappings it leaves empty, keeping the rest")
    func unsetRemoves() throws {
        let world = try World(Self.commented)
        try world.unset("image_registry")
        try world.set("profiles.local.resources.memory", "1g")
        try world.unset("profiles.local.resources.memory")
        try world.unset("active_profile")
        #expect(world.text == Self.commented
            .replacingOccurrences(of: "active_profile: local   # the usual one\n", with: "")
            .replacingOccurrences(of: "image_registry: 'registry.example'  # team registry\n", with: ""))
    }

    @Test("config set refuses, with the reason, a change whose layered result is invalid; the file stays", arguments: [
        ("active_profile", "nosuchprofile", "active_profile \"nosuchprofile\" is not a defined profile"),
        ("default_harness_config", "nosuch", "default_harness_config \"nosuch\" is not a defined harness config"),
        ("profiles.local.resources.memory", "12x", "profiles.local.resources.memory \"12x\" is not a memory size"),
        ("profiles.local.resources.cpus", "lots", "profiles.local.resources.cpus \"lots\" is not a number of CPUs"),
        ("profiles.local.runtim", "local", "unknown settings key \"profiles.local.runtim\": did you mean \"runtime\"?"),
        ("profiles.local", "{runtime: local, colour: red}", "unknown settings key \"profiles.local.colour\""),
        ("profiles.local.runtime", "nowhere", "profile local names runtime \"nowhere\", which is not defined"),
        ("profiles.local.resources", "4g", "profiles.local.resources must be a mapping"),
    ])
    func setRefuses(key: String, value: String, reason: String) throws {
        let world = try World(Self.commented)
        let error = try #require(throws: ScionError.self) { try world.set(key, value) }
        #expect(error.code == .invalidSettings)
        #expect(error.exitCode == 2)
        #expect(error.message.contains(reason), "got: \(error.message)")
        #expect(world.text == Self.commented)
    }

    @Test("SCION_* variables keep the case of environment names under env; settings keys are lowercase")
    func environmentNamesKeepCase() throws {
        let directory = try TemporaryDirectory()
        let settings = try SettingsLoader(
            globalDirectory: directory.path + "/.scion", groveDirectory: nil,
            environment: [
                "SCION_PROFILES__LOCAL__ENV__MY_TOKEN": "t", "SCION_HARNESS_CONFIGS__SHELL__ENV__Mixed_Case": "m",
                "SCION_PROFILES__LOCAL__IMAGE_REGISTRY": "r.example",
            ]).load()
        #expect(settings.profiles["local"]?.env == ["MY_TOKEN": "t"])
        #expect(settings.harnessConfigs["shell"]?.env == ["Mixed_Case": "m"])
        #expect(settings.profiles["local"]?.imageRegistry == "r.example")
    }

    @Test("a resources value of the wrong shape is an error with file and line")
    func resourcesShape() throws {
        let world = try World("profiles:\n  local:\n    runtime: local\n    resources: 4g\n")
        let error = try #require(throws: ScionError.self) { try world.loader.load() }
        #expect(error.message.contains("settings.yaml:4: profiles.local.resources must be a mapping"), "got: \(error.message)")
    }

    @Test("~ in tmux.config and plugins.paths is the user's home (the folder holding the global .scion)")
    func tildeExpands() throws {
        let world = try World("tmux:\n  config: ~/agents.tmux.conf\nplugins:\n  paths: [~/plugins]\n")
        let settings = try world.loader.load()
        #expect(settings.tmuxConfig == world.directory.path + "/home/agents.tmux.conf")
        #expect(settings.pluginPaths == [world.directory.path + "/home/plugins"])
        #expect(SettingsValidator.referenceProblems(settings).contains {
            $0.contains("tmux.config names \(world.directory.path)/home/agents.tmux.conf, which is not a file")
        })
        try world.directory.write("home/agents.tmux.conf", "# agents\n")
        #expect(SettingsValidator.referenceProblems(try world.loader.load()).isEmpty)
    }
}
