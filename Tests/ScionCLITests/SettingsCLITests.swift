import Foundation
import ScionTestSupport
import Testing

/// Issue 8, defects 6 and 7, through the real binary.
@Suite("settings through the CLI: fresh installs, set, unset, sub-agents")
struct SettingsCLITests {
    @Test("a fresh install validates and doctor does not warn; a runtime of the user's whose plugin is missing is an error with file and line")
    func freshInstallValidates() throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("config", "validate")
        #expect(result.status == 0, "got: \(result.stdout) \(result.stderr)")
        #expect(!result.stdout.contains("error:"))
        #expect(!result.stdout.contains("unavailable"), "every built-in runtime has its plugin: \(result.stdout)")
        let doctor = try sandbox.check("doctor", "--format", "json")
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(doctor.utf8)) as? [[String: Any]])
        #expect(!checks.contains { $0["result"] as? String == "warning" || $0["result"] as? String == "failed" }, "\(checks)")

        try sandbox.home.write(".scion/settings.yaml", "runtimes:\n  elsewhere:\n    type: nosuchruntime\nprofiles:\n  far:\n    runtime: elsewhere\n")
        let missing = try sandbox.scion("config", "validate")
        #expect(missing.status == 2)
        #expect(missing.stdout.contains(".scion/settings.yaml:3: runtime elsewhere (used by profile far) has type \"nosuchruntime\", but no runtime plugin of that name is installed"), "got: \(missing.stdout)")
    }

    @Test("config set refuses an invalid change with exit 2 and one error line, keeping the file", arguments: [
        ["active_profile", "nosuchprofile"], ["default_harness_config", "nosuch"],
        ["profiles.local.resources.memory", "12x"], ["profiles.local.runtim", "local"],
    ])
    func setRefuses(arguments: [String]) throws {
        let sandbox = try ScionSandbox()
        let file = sandbox.path + "/.scion/settings.yaml"
        let before = try String(contentsOfFile: file, encoding: .utf8)
        let result = try sandbox.scion(["config", "set"] + arguments)
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "got: \(result.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
    }

    @Test("config set keeps the seed file's comments and schema_version: \"1\"; config unset takes a key out")
    func setKeepsCommentsAndUnset() throws {
        let sandbox = try ScionSandbox()
        let file = sandbox.path + "/.scion/settings.yaml"
        let before = try String(contentsOfFile: file, encoding: .utf8)
        try sandbox.check("config", "set", "profiles.docker.resources.memory", "4g")
        let after = try String(contentsOfFile: file, encoding: .utf8)
        #expect(after.hasPrefix(before), "got: \(after)")
        #expect(after.contains("schema_version: \"1\"\n"))
        #expect(try sandbox.check("config", "get", "profiles.docker.resources.memory") == "4g\n")
        #expect(try sandbox.check("config", "unset", "profiles.docker.resources.memory").contains("unset profiles.docker.resources.memory"))
        #expect(try String(contentsOfFile: file, encoding: .utf8) == before)
        #expect(try sandbox.scion("config", "get", "profiles.docker.resources.memory").status == 3)
        #expect(try sandbox.check("config", "unset", "image_registry").contains("not set"))
        #expect(try sandbox.scion("config", "unset", "profiles.local.runtim").status == 2)
        // The global file too.
        try sandbox.check("config", "set", "--global", "image_registry", "global.example")
        #expect(try String(contentsOfFile: sandbox.home.path + "/.scion/settings.yaml", encoding: .utf8)
            == "schema_version: \"1\"\nimage_registry: global.example\n")
    }

    @Test("a tmux.config naming a missing file is an error, not silence")
    func missingTmuxConfig() throws {
        let sandbox = try ScionSandbox()
        try sandbox.home.write(".scion/settings.yaml", "tmux:\n  config: ~/no-such.tmux.conf\n")
        let result = try sandbox.scion("start", "t", "--harness", "shell", "sleep 60")
        #expect(result.status == 2)
        #expect(result.stderr.contains("tmux.config names \(sandbox.home.path)/no-such.tmux.conf, which is not a file"), "got: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("t")))
        #expect(try sandbox.scion("config", "validate").status == 2)
    }

    @Test("a sub-agent started from inside a local agent uses the user's global settings, although HOME there is the agent's")
    func subAgentSeesGlobalSettings() throws {
        let sandbox = try ScionSandbox()
        try sandbox.home.write(".scion/settings.yaml", """
            harness_configs:
              only-global:
                harness: generic
                args: [sh, -c]
                env: { FROM_GLOBAL: global-settings }

            """)
        let task = "scion start child --harness only-global 'echo \"$FROM_GLOBAL\" > child.txt; sleep 60' > parent.out 2>&1; sleep 60"
        try sandbox.check("start", "parent", "--harness", "shell", task)
        let childFile = sandbox.agentDirectory("child") + "/workspace/child.txt"
        let found = Shell.eventually(timeout: 30) { (try? String(contentsOfFile: childFile, encoding: .utf8)) == "global-settings\n" }
        let parentOutput = (try? String(contentsOfFile: sandbox.agentDirectory("parent") + "/workspace/parent.out", encoding: .utf8)) ?? ""
        #expect(found, "the child did not run with the global harness config; parent said: \(parentOutput)")
        let child = try #require(try sandbox.agent("child"))
        #expect(child["harness_config"] as? String == "only-global")
        #expect(child["parent"] as? String == "parent")
    }
}
