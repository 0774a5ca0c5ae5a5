import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// A runtime that does not share the host's paths (Tests/Plugins/runtime-faraway,
/// a dlopen'd test plugin, never installed): the agent's home lives under
/// another root, so the host's own copy of it never sees what the agent
/// writes. The whole lifecycle, `list` activity, `look`, `message` and
/// `logs` must go through the runtime's operations.
@Suite("a runtime that does not share the host's paths")
struct FarawayRuntimeTests {
    @Test("start, list activity, look, message, logs, stop, resume and delete work through the runtime when the agent's home is not at the host's path")
    func wholeLifecycleThroughTheRuntime() throws {
        let sandbox = try ScionSandbox()
        let root = try TemporaryDirectory("scion-far")
        let plugin = sandbox.home.path + "/.scion/plugins/faraway"
        try FileManager.default.createDirectory(atPath: plugin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: BuildProducts.packageRoot + "/Tests/Plugins/runtime-faraway/plugin.json", toPath: plugin + "/plugin.json")
        try FileManager.default.copyItem(
            atPath: BuildProducts.directory + "/libScionTestRuntimeFaraway.so", toPath: plugin + "/libScionTestRuntimeFaraway.so")
        try sandbox.home.write(".scion/settings.yaml", """
            schema_version: "1"
            runtimes:
              far:
                type: faraway
                root: \(root.path)
            profiles:
              far:
                runtime: far
            """)

        try sandbox.check("start", "w", "-p", "far", "--harness", "shell",
                          #"echo hello-far; scion status ask_user "which one?"; cat"#)
        let hostHome = sandbox.agentDirectory("w") + "/home"
        let agentHome = root.path + hostHome
        #expect(Shell.eventually(timeout: 10) {
            (try? sandbox.agent("w"))?["activity"] as? String == "waiting_for_input"
        }, "list: \(String(describing: try? sandbox.agent("w")))")
        let agent = try #require(try sandbox.agent("w"))
        #expect(agent["phase"] as? String == "running")
        #expect(agent["activity_message"] as? String == "which one?")
        #expect(FileManager.default.fileExists(atPath: agentHome + "/.scion/events.jsonl"), "the agent wrote no events in its own home")
        #expect(!FileManager.default.fileExists(atPath: hostHome + "/.scion/events.jsonl"), "events appeared in the host's copy of the home")

        #expect(Shell.eventually(timeout: 10) { (try? sandbox.check("look", "w"))?.contains("hello-far") == true })
        try sandbox.check("message", "w", "typed-far")
        let journal = try String(contentsOfFile: agentHome + "/.scion/events.jsonl", encoding: .utf8)
        #expect(journal.contains(#""kind":"input""#), "the message was not journaled in the agent's home: \(journal)")
        #expect(try sandbox.agent("w")?["activity"] as? String == "thinking")
        #expect(Shell.eventually(timeout: 10) { (try? sandbox.check("logs", "w"))?.contains("typed-far") == true },
                "logs: \((try? sandbox.scion("logs", "w").stderr) ?? "")")
        #expect(!FileManager.default.fileExists(atPath: hostHome + "/.scion/agent.log"), "the log appeared in the host's copy of the home")

        try sandbox.check("stop", "w")
        #expect(try sandbox.agent("w")?["phase"] as? String == "stopped")
        try sandbox.check("resume", "w")
        #expect(try sandbox.agent("w")?["phase"] as? String == "running")
        try sandbox.check("delete", "--force", "w")
        #expect(try sandbox.agent("w") == nil)
        #expect(!FileManager.default.fileExists(atPath: agentHome), "the agent's remote home is left behind")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root.path + "/i")) ?? []).isEmpty, "an instance is left behind")
    }
}
