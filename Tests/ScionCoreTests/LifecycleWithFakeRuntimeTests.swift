import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

/// The lifecycle (start, stop, resume, delete, list, look, logs) on an
/// in-process fake runtime: no engine, no tmux, no plugin. Two runtime
/// entries of the same fake type differ only by their options (`zone`), so
/// every call shows which settings it carried.
@Suite("the lifecycle on an in-process fake runtime")
struct LifecycleWithFakeRuntimeTests {
    final class World: @unchecked Sendable {
        let folder: TemporaryDirectory
        let home: TemporaryDirectory
        let runtime: FakeRuntimeWorld

        init(sharesHostPaths: Bool = true) throws {
            folder = try TemporaryDirectory("scion-fake-grove")
            home = try TemporaryDirectory("scion-fake-home")
            runtime = FakeRuntimeWorld(sharesHostPaths: sharesHostPaths)
            try FileManager.default.createDirectory(atPath: folder.path + "/.scion", withIntermediateDirectories: true)
            try home.write(".scion/settings.yaml", """
                schema_version: "1"
                active_profile: near
                default_harness_config: fakecfg
                runtimes:
                  fake-a:
                    type: fake
                    zone: a
                  fake-b:
                    type: fake
                    zone: b
                profiles:
                  near:
                    runtime: fake-a
                    resources: { memory: 1g }
                  far:
                    runtime: fake-b
                harness_configs:
                  fakecfg:
                    harness: fake
                """)
        }

        /// `executablePath`: the scion whose folder holds the grove broker (the test binary's by default).
        func orchestrator(profile: String? = nil, executablePath: String = ScionContext.currentExecutable()) throws -> Orchestrator {
            var overrides: [SettingsLoader.Override] = []
            if let profile { overrides.append(SettingsLoader.Override(path: "active_profile", value: profile, flag: "--profile")) }
            let context = ScionContext(
                environment: ["HOME": home.path, "PATH": "/usr/bin:/bin", "USER": "tester"],
                workingDirectory: folder.path, executablePath: executablePath, groveOverride: folder.path, overrides: overrides)
            return try Orchestrator(context: context, drivers: runtime.registry())
        }

        func zones(_ operation: String) -> [String?] {
            runtime.calls(operation).map { $0.options["zone"]?.stringValue }
        }
    }

    @Test("an agent started under one profile is stopped, resumed, looked at, logged and deleted with its own runtime's options while another profile is active")
    func everyOperationUsesTheSpec() throws {
        let world = try World()
        let started = try world.orchestrator().start(StartRequest(name: "w", task: "go"))
        #expect(started.runtime == "fake-a")
        #expect(world.zones("run") == ["a"])
        let instance = try #require(world.runtime.instances.values.first)
        #expect(instance.spec.resources.memory == "1g")

        // Today's active profile is far (zone b): nothing re-resolves from it.
        let later = try world.orchestrator(profile: "far")
        try later.stop("w")
        _ = try later.resume("w", task: nil)
        #expect(try later.status("w").phase == .running)
        #expect(try later.list().first { $0.name == "w" }?.phase == .running)
        _ = try later.look("w")
        try later.message("w", "hello", interrupt: false)
        var log = ""
        try later.logs("w", tail: nil, follow: false) { log += $0; return true }
        #expect(log == "fake log\n")
        try later.delete("w", options: DeleteOptions(force: true))

        for operation in ["run", "stop", "status", "exec", "logs", "delete"] {
            let zones = world.zones(operation)
            #expect(!zones.isEmpty, "no \(operation) call")
            #expect(zones.allSatisfy { $0 == "a" }, "\(operation) calls carried zones \(zones)")
        }
        let resumed = try #require(world.runtime.calls("run").last)
        #expect(resumed.options["zone"]?.stringValue == "a")
        #expect(world.runtime.instances.isEmpty, "the instance is left behind")
    }

    @Test("resume with an explicit profile re-resolves the spec, removes the old instance through its own runtime and runs on the new one")
    func resumeWithProfileOverride() throws {
        let world = try World()
        let orchestrator = try world.orchestrator()
        try orchestrator.start(StartRequest(name: "mover"))
        try orchestrator.stop("mover")
        let moved = try world.orchestrator(profile: "far").resume("mover", task: nil, profile: "far")
        #expect(moved.profile == "far")
        #expect(moved.runtime == "fake-b")
        #expect(world.zones("delete") == ["a"], "the old instance was not removed through zone a")
        #expect(world.zones("run") == ["a", "b"])
        let spec = try #require(try orchestrator.store.loadSpec("mover"))
        #expect(spec.profile == "far")
        #expect(spec.resolvedBy == "resume --profile far")
        #expect(spec.resources.memory == nil, "far has no resources; the spec kept near's")
        // Without an override, later commands keep to the new spec.
        try world.orchestrator().stop("mover")
        #expect(world.zones("stop") == ["a", "b"])
    }

    @Test("the spec holds env names, never values, and no credential-like runtime option; launches get the values from today's settings")
    func specHoldsNoSecrets() throws {
        let world = try World()
        try world.home.write(".scion/settings.yaml", """
            schema_version: "1"
            active_profile: near
            default_harness_config: fakecfg
            runtimes:
              fake-a:
                type: fake
                zone: a
                api_token: tok-123
            profiles:
              near:
                runtime: fake-a
                env: { SERVICE_PASSWORD: hunter2 }
            harness_configs:
              fakecfg:
                harness: fake
            """)
        let orchestrator = try world.orchestrator()
        try orchestrator.start(StartRequest(name: "s"))
        let text = try String(contentsOfFile: orchestrator.store.specPath("s"), encoding: .utf8)
        #expect(!text.contains("hunter2") && !text.contains("tok-123"), "a secret is in the spec: \(text)")
        let spec = try #require(try orchestrator.store.loadSpec("s"))
        #expect(spec.env.contains("SERVICE_PASSWORD"))
        #expect(spec.runtime.options["api_token"] == nil)
        let run = try #require(world.runtime.instances.values.first)
        #expect(run.spec.env["SERVICE_PASSWORD"] == "hunter2")
        #expect(run.options["api_token"]?.stringValue == "tok-123", "the runtime did not get its credential from today's settings")
        try orchestrator.delete("s", options: DeleteOptions(force: true))
    }

    @Test("a record without a spec (written before specs) is resolved once from its own profile and runtime, then stored")
    func recordWithoutSpec() throws {
        let world = try World()
        let orchestrator = try world.orchestrator()
        try orchestrator.start(StartRequest(name: "old"))
        try FileManager.default.removeItem(atPath: orchestrator.store.specPath("old"))
        let later = try world.orchestrator(profile: "far")
        #expect(try later.list().first { $0.name == "old" }?.phase == .running)
        try later.stop("old")
        #expect(world.zones("stop") == ["a"])
        let spec = try #require(try later.store.loadSpec("old"))
        #expect(spec.resolvedBy == "migrated")
        #expect(spec.profile == "near")
        #expect(spec.runtime.options["zone"]?.stringValue == "a")
        try later.delete("old", options: DeleteOptions(force: true))
    }

    @Test("for a runtime that does not share the host's paths, activity comes from events read through the runtime and messages are journaled through it; the host's folder is never read")
    func agentFilesThroughTheRuntime() throws {
        let world = try World(sharesHostPaths: false)
        // No grove broker beside this "scion": nothing follows the agent, list reads through the runtime.
        let orchestrator = try world.orchestrator(executablePath: world.folder.path + "/no-such-bin/scion")
        let record = try orchestrator.start(StartRequest(name: "far"))
        let name = try #require(world.runtime.instances.keys.first)
        #expect(world.runtime.calls("write_agent_file").count == 1, "the previous run's events were not reset through the runtime")
        // A decoy on the host: the agent does not see this folder.
        let decoy = record.home + "/.scion/events.jsonl"
        try Data((#"{"at":"2026-01-01T00:00:00Z","event":"blocked","kind":"status"}"# + "\n").utf8).write(to: URL(fileURLWithPath: decoy))
        world.runtime.setFile(name, ".scion/events.jsonl", Data((#"{"at":"2026-01-01T00:00:00Z","event":"ask_user","kind":"status","message":"which one?"}"# + "\n").utf8))
        let status = try #require(try orchestrator.list().first { $0.name == "far" })
        #expect(status.activity == .waitingForInput, "activity \(String(describing: status.activity))")
        #expect(status.activityMessage == "which one?")
        #expect(!world.runtime.calls("read_agent_file").isEmpty)

        try orchestrator.message("far", "the first", interrupt: false)
        let journal = String(decoding: world.runtime.file(name, ".scion/events.jsonl") ?? Data(), as: UTF8.self)
        #expect(journal.contains(#""kind":"input""#), "journal: \(journal)")
        #expect(journal.hasPrefix(#"{"at":"2026-01-01T00:00:00Z","event":"ask_user""#), "the journal was not appended to")
        let after = try #require(try orchestrator.list().first { $0.name == "far" })
        #expect(after.activity == .thinking, "activity \(String(describing: after.activity))")
        #expect(try String(contentsOfFile: decoy, encoding: .utf8).contains("blocked"), "the host folder was written")
        try orchestrator.delete("far", options: DeleteOptions(force: true))
    }

    @Test("a start whose run fails after the runtime made its instance rolls back: no record, no folder, no instance")
    func failedRunRollsBack() throws {
        let world = try World()
        let orchestrator = try world.orchestrator()
        world.runtime.failNextRun(ScionError(.internal, "the fake engine fell over"))
        #expect(throws: ScionError.self) { try orchestrator.start(StartRequest(name: "doomed")) }
        #expect(!orchestrator.store.exists("doomed"), "the agent folder is left behind")
        #expect(world.runtime.instances.isEmpty, "the instance is left behind")
        #expect(world.zones("delete").allSatisfy { $0 == "a" } && !world.zones("delete").isEmpty)
    }

    @Test("delete finds, by its recorded runtime name and the spec's options, an instance whose handle a killed start never saved")
    func deleteFindsUnrecordedInstance() throws {
        let world = try World()
        let orchestrator = try world.orchestrator()
        var record = try orchestrator.start(StartRequest(name: "killed"))
        // As if the start was killed after the engine made the instance.
        record.handle = nil
        record.phase = .starting
        try orchestrator.store.save(record)
        let later = try world.orchestrator(profile: "far")
        try later.delete("killed", options: DeleteOptions(force: true))
        #expect(world.runtime.instances.isEmpty, "the instance is left behind")
        #expect(world.zones("delete") == ["a"])
        #expect(!later.store.exists("killed"))
    }
}
