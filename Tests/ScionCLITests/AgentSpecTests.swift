import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The agent's own spec (`.scion/agents/<name>/spec.json`): resolved once at
/// create, used by every later command whatever the active profile is then;
/// `resume --profile` changes it explicitly.
@Suite("the agent's resolved spec")
struct AgentSpecTests {
    static func spec(_ sandbox: ScionSandbox, _ name: String) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: sandbox.agentDirectory(name) + "/spec.json"), "no spec.json")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func appendSettings(_ sandbox: ScionSandbox, _ yaml: String) throws {
        let path = sandbox.path + "/.scion/settings.yaml"
        let original = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try (original + (original.hasSuffix("\n") || original.isEmpty ? "" : "\n") + yaml)
            .write(toFile: path, atomically: true, encoding: .utf8)
        try sandbox.check("trust")
    }

    @Test("an agent started with -p alt (a local runtime with its own state_dir) is stopped, resumed and listed under alt's state folder while another profile is active")
    func resumeUnderItsOwnProfile() throws {
        let sandbox = try ScionSandbox()
        let state = sandbox.home.path + "/alt-state"
        try Self.appendSettings(sandbox, """
            runtimes:
              alt:
                type: local
                state_dir: \(state)
            profiles:
              alt:
                runtime: alt
                env:
                  ALT_TOKEN: not-in-the-spec-value
            """)
        try sandbox.check("start", "w", "-p", "alt", "--harness", "shell", "sleep 60")
        let first = try #require(try sandbox.agent("w")?["handle"] as? String)
        #expect(first.hasPrefix(state + "/"), "handle \(first)")

        try sandbox.check("stop", "w")
        #expect(try sandbox.agent("w")?["phase"] as? String == "stopped")
        // The active profile is still local: resume must not re-resolve from it.
        try sandbox.check("resume", "w")
        let agent = try #require(try sandbox.agent("w"))
        #expect(agent["phase"] as? String == "running", "list: \(agent)")
        let second = try #require(agent["handle"] as? String)
        #expect(second.hasPrefix(state + "/"), "resumed under \(second), not under alt's state_dir")
        #expect(FileManager.default.fileExists(atPath: second + "/tmux-\(getuid())/default"))
        _ = try sandbox.check("look", "w")
        let spec = try Self.spec(sandbox, "w")
        #expect(spec["profile"] as? String == "alt")
        let runtime = try #require(spec["runtime"] as? [String: Any])
        #expect(runtime["name"] as? String == "alt")
        #expect((runtime["options"] as? [String: Any])?["state_dir"] as? String == state)
        #expect((spec["env"] as? [String])?.contains("ALT_TOKEN") == true)
        let text = try String(contentsOfFile: sandbox.agentDirectory("w") + "/spec.json", encoding: .utf8)
        #expect(!text.contains("not-in-the-spec-value"), "an env value is in the spec")


        // An explicit profile on resume is an override, kept in the spec.
        try sandbox.check("stop", "w")
        try sandbox.check("resume", "w", "-p", "local")
        let moved = try #require(try sandbox.agent("w"))
        #expect(moved["phase"] as? String == "running")
        #expect(moved["profile"] as? String == "local")
        #expect((moved["handle"] as? String)?.hasPrefix(state + "/") == false, "handle \(moved["handle"] ?? "")")
        #expect(try Self.spec(sandbox, "w")["profile"] as? String == "local")
        #expect((try Self.spec(sandbox, "w")["resolved_by"] as? String) == "resume --profile local")
        try sandbox.check("delete", "--force", "w")
        #expect(!FileManager.default.fileExists(atPath: second), "alt's state folder of w is left behind")
    }

    @Test("an agent whose record predates specs gets one resolved from its own profile and stored at its next operation")
    func recordWithoutSpecIsMigrated() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "old", "--harness", "shell", "sleep 60")
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("old") + "/spec.json")
        #expect(try sandbox.agent("old")?["phase"] as? String == "running", "list needs no spec")
        try sandbox.check("stop", "old")
        try sandbox.check("resume", "old")
        #expect(try sandbox.agent("old")?["phase"] as? String == "running")
        let spec = try Self.spec(sandbox, "old")
        #expect(spec["resolved_by"] as? String == "migrated")
        #expect(spec["profile"] as? String == "local")
    }
}

@Suite(
    "the agent's spec on the docker engine", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct AgentSpecDockerTests {
    @Test("a docker agent resumed while a local profile is active keeps its engine host, network and resources")
    func dockerAgentKeepsItsRuntime() throws {
        let world = try EngineWorld(.docker)
        let sandbox = world.sandbox
        let sockets = try TemporaryDirectory("scion-sock")
        try FileManager.default.createSymbolicLink(atPath: sockets.path + "/engine.sock", withDestinationPath: "/var/run/docker.sock")
        try sandbox.check("config", "set", "runtimes.docker.host", "unix://" + sockets.path + "/engine.sock")
        sandbox.extraEnvironment["DOCKER_HOST"] = "unix://" + sockets.path + "/nothing-here.sock"
        try sandbox.check("config", "set", "profiles.docker.resources.memory", "256m")
        try sandbox.check("start", "kept", "--harness", "shell", "sleep 120")
        try sandbox.check("stop", "kept")
        try sandbox.check("config", "set", "active_profile", "local")
        try sandbox.check("resume", "kept")
        let agent = try #require(try sandbox.agent("kept"))
        #expect(agent["phase"] as? String == "running", "list: \(agent)")
        let info = try #require(try world.engine.inspect(world.container("kept")))
        let host = try #require(info["HostConfig"] as? [String: Any])
        #expect(host["NetworkMode"] as? String == "none", "network \(host["NetworkMode"] ?? "")")
        #expect((host["Memory"] as? Int) == 256 * 1024 * 1024, "memory \(host["Memory"] ?? "")")
        try sandbox.check("delete", "--force", "kept")
        try world.expectNothingLeft("kept")
    }

    @Test("with runtimes.docker.host on another socket path and DOCKER_HOST elsewhere, look, message, logs and delete reach the engine start used")
    func everyCallUsesTheRuntimesHost() throws {
        let world = try EngineWorld(.docker)
        let sandbox = world.sandbox
        let sockets = try TemporaryDirectory("scion-sock")
        let socket = sockets.path + "/engine.sock"
        try FileManager.default.createSymbolicLink(atPath: socket, withDestinationPath: "/var/run/docker.sock")
        try sandbox.check("config", "set", "runtimes.docker.host", "unix://" + socket)
        // Whatever DOCKER_HOST says, the agent's runtime settings win.
        sandbox.extraEnvironment["DOCKER_HOST"] = "unix://" + sockets.path + "/nothing-here.sock"
        try sandbox.check("start", "far", "--harness", "shell", "echo from-far-engine; cat")
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("look", "far"))?.contains("from-far-engine") == true },
                "look: \((try? sandbox.scion("look", "far").stderr) ?? "")")
        try sandbox.check("message", "far", "typed-through-the-host-setting")
        #expect(Shell.eventually(timeout: 20) {
            (try? sandbox.check("logs", "far"))?.contains("typed-through-the-host-setting") == true
        }, "logs: \((try? sandbox.scion("logs", "far").stderr) ?? "")")
        try sandbox.check("stop", "far")
        try sandbox.check("delete", "--force", "far")
        try world.expectNothingLeft("far")
    }
}
