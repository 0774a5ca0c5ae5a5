import Foundation
import ScionTestSupport
import Testing

@Suite("config and plugins through the CLI")
struct ConfigAndPluginCLITests {
    @Test("config get --show-origin tells which layer each value came from")
    func showOrigin() throws {
        let sandbox = try ScionSandbox()
        try sandbox.home.write(".scion/settings.yaml", "default_harness_config: generic\nimage_registry: global.example\n")
        try sandbox.check("config", "set", "default_harness_config", "shell")
        #expect(try sandbox.check("config", "get", "default_harness_config", "--show-origin")
            .contains("shell\t(\(sandbox.path)/.scion/settings.yaml:"))
        #expect(try sandbox.check("config", "get", "image_registry", "--show-origin")
            .contains("global.example\t(\(sandbox.home.path)/.scion/settings.yaml:2)"))
        #expect(try sandbox.check("config", "get", "runtimes.local.type", "--show-origin").contains("built-in defaults"))
        sandbox.extraEnvironment["SCION_ACTIVE_PROFILE"] = "docker"
        #expect(try sandbox.check("config", "get", "active_profile", "--show-origin") == "docker\t(environment SCION_ACTIVE_PROFILE)\n")
        #expect(try sandbox.check("config", "get", "active_profile", "-p", "podman", "--show-origin") == "podman\t(flag --profile)\n")
    }

    @Test("config set refuses a value that would break the settings and keeps the file")
    func setRefusesInvalid() throws {
        let sandbox = try ScionSandbox()
        let file = sandbox.path + "/.scion/settings.yaml"
        let before = try String(contentsOfFile: file, encoding: .utf8)
        let result = try sandbox.scion("config", "set", "schema_version", "7")
        #expect(result.status != 0)
        #expect(result.stderr.contains("schema_version \"7\" is not supported"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
    }

    @Test("unknown settings keys are warned about with file and line, not dropped silently")
    func unknownKeysWarned() throws {
        let sandbox = try ScionSandbox()
        try "schema_version: \"1\"\nprofiles:\n  local:\n    runtime: local\n    runtim: typo\n"
            .write(toFile: sandbox.path + "/.scion/settings.yaml", atomically: true, encoding: .utf8)
        let result = try sandbox.scion("list")
        #expect(result.status == 0)
        #expect(result.stderr.contains("settings.yaml:5: unknown settings key \"profiles.local.runtim\""), "got: \(result.stderr)")
    }

    @Test("plugins list shows every built plugin loading, and --format json works on listings")
    func pluginsList() throws {
        let sandbox = try ScionSandbox()
        let json = try sandbox.check("plugins", "list", "--format", "json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let local = try #require(rows.first { $0["name"] as? String == "local" })
        #expect(local["kind"] as? String == "runtime")
        #expect(local["status"] as? String == "ok")
        #expect(rows.contains { $0["name"] as? String == "generic" && $0["status"] as? String == "ok" })
    }

    @Test("a plugin speaking another ABI version is refused, naming the file and both versions")
    func wrongABIPluginInSettingsPath() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        let folder = plugins.path + "/future"
        try FixturePlugins.buildCPlugin(in: folder, name: "future", kind: "runtime", abiVersion: 2, manifestVersions: [1])
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        try sandbox.check("config", "set", "runtimes.future.type", "future")
        try sandbox.check("config", "set", "profiles.future.runtime", "future")
        let result = try sandbox.scion("start", "x", "-p", "future", "--harness", "shell", "true")
        #expect(result.status == 6)
        #expect(result.stderr.contains("\(folder)/libfuture.so speaks plugin ABI 2; this scion speaks plugin ABI 1"), "got: \(result.stderr)")
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("a harness plugin written in plain C drives a real agent end to end")
    func cHarnessDrivesAnAgent() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/c-echo", name: "c-echo", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(
                name: "c-echo", command: ["sh", "-c", "echo \"$FROM_C_PLUGIN\" > c.txt; sleep 60"]))
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        try sandbox.check("config", "set", "harness_configs.c.harness", "c-echo")
        try sandbox.check("start", "cee", "--harness", "c")
        let output = sandbox.agentDirectory("cee") + "/workspace/c.txt"
        #expect(Shell.eventually { (try? String(contentsOfFile: output, encoding: .utf8)) == "yes\n" })
        let homeFile = sandbox.agentDirectory("cee") + "/home/c-plugin.txt"
        #expect(try String(contentsOfFile: homeFile, encoding: .utf8) == "written by C\n")
    }

    @Test("doctor checks tmux, git, settings and plugins")
    func doctor() throws {
        let sandbox = try ScionSandbox()
        let json = try sandbox.check("doctor", "--format", "json")
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        for name in ["tmux", "git", "grove", "settings", "runtime local", "harness generic", "profile local runtime"] {
            #expect(checks.contains { $0["name"] as? String == name && $0["result"] as? String == "ok" }, "\(name) not ok: \(checks)")
        }
    }

    @Test("global options may come before the command")
    func globalOptionsFirst() throws {
        let sandbox = try ScionSandbox()
        let elsewhere = try TemporaryDirectory()
        let result = try sandbox.scion(["-g", sandbox.path, "--format", "json", "list"], in: elsewhere.path)
        #expect(result.status == 0, "got: \(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || result.stdout.contains("[]"))
    }
}
