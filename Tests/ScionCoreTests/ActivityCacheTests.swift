import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The host's copy of a remote agent's events (ActivityCache), kept by the
/// grove broker's follower: `list` uses it only while the follower is
/// current, and reads through the runtime otherwise (issue 8's contract).
@Suite("the activity cache of remote agents")
struct ActivityCacheTests {
    typealias FakeWorld = LifecycleWithFakeRuntimeTests.World

    /// The `far` profile's fake runtime, which does not share the host's
    /// paths; no broker beside this "scion": the test plays the follower itself.
    static func orchestrator(_ world: FakeWorld) throws -> Orchestrator {
        try world.orchestrator(profile: "far", executablePath: world.folder.path + "/no-such-bin/scion")
    }

    static func line(_ event: String, _ message: String) -> Data {
        Data((#"{"at":"2026-01-01T00:00:00Z","event":"\#(event)","kind":"status","message":"\#(message)"}"# + "\n").utf8)
    }

    @Test("while the follower is current, list reads a remote agent's activity from scion's copy with no read through the runtime; a follower that died or went quiet sends list back to the runtime")
    func listUsesTheCurrentFollower() throws {
        let world = try FakeWorld(sharesHostPaths: false)
        let orchestrator = try Self.orchestrator(world)
        let record = try orchestrator.start(StartRequest(name: "far"))
        let handle = try #require(record.handle)
        let instance = try #require(world.runtime.instances.keys.first)
        let cache = ActivityCache(store: orchestrator.store, name: "far")
        #expect(cache.isRemote, "the launch did not mark the agent as followed")

        // The follower copied one event; the runtime's file says something else.
        var follower = try cache.begin(handle: handle)
        try cache.record(&follower, appending: Self.line("ask_user", "from-the-copy"), asked: Date())
        world.runtime.setFile(instance, ".scion/events.jsonl", Self.line("blocked", "from-the-runtime"))
        let reads = world.runtime.calls("read_agent_file").count
        let cached = try #require(try orchestrator.list().first { $0.name == "far" })
        #expect(cached.activityMessage == "from-the-copy")
        #expect(world.runtime.calls("read_agent_file").count == reads, "list read through the runtime while the follower was current")

        // A follower of another instance is not current for this one.
        #expect(cache.current(handle: handle + "-other") == nil)

        // Its heartbeat too old: back to the runtime.
        #expect(cache.current(handle: handle, now: Date().addingTimeInterval(ActivityCache.freshness + 1)) == nil)

        // Its process gone: back to the runtime, which has more to say.
        let dead = try Subprocess.run(["sh", "-c", "echo $$"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        var stale = follower
        stale.pid = try #require(Int32(dead))
        try AtomicFile.write(JSONEncoder.iso8601.encode(stale), to: cache.directory + "/follower.json", mode: 0o600, durable: false)
        world.runtime.setFile(instance, ".scion/events.jsonl", Self.line("ask_user", "from-the-copy") + Self.line("blocked", "from-the-runtime"))
        let fallen = try #require(try orchestrator.list().first { $0.name == "far" })
        #expect(fallen.activityMessage == "from-the-runtime")
        #expect(world.runtime.calls("read_agent_file").count > reads, "list did not read through the runtime without a live follower")
        try orchestrator.delete("far", options: DeleteOptions(force: true))
    }

    @Test("the copy resumes from the last byte for the same instance and starts over for a new one; its folder is private")
    func copyResumesAndRestarts() throws {
        let world = try FakeWorld(sharesHostPaths: false)
        let orchestrator = try Self.orchestrator(world)
        _ = try orchestrator.start(StartRequest(name: "far"))
        let cache = ActivityCache(store: orchestrator.store, name: "far")
        var follower = try cache.begin(handle: "pod-1")
        try cache.record(&follower, appending: Self.line("ask_user", "one"), asked: Date())
        let resumed = try cache.begin(handle: "pod-1")
        #expect(resumed.size == follower.size)
        let fresh = try cache.begin(handle: "pod-2")
        #expect(fresh.size == 0)
        var info = stat()
        #expect(lstat(cache.directory, &info) == 0 && info.st_mode & 0o077 == 0, "the remote folder is readable by others")
        try orchestrator.delete("far", options: DeleteOptions(force: true))
    }

    @Test("a copy whose last read was sent before scion wrote to the agent's events (a message) is not current until a later read")
    func hostWriteMakesTheCopyStale() throws {
        let world = try FakeWorld(sharesHostPaths: false)
        let orchestrator = try Self.orchestrator(world)
        _ = try orchestrator.start(StartRequest(name: "far"))
        let cache = ActivityCache(store: orchestrator.store, name: "far")
        var follower = try cache.begin(handle: "pod-1")
        let readBeforeTheWrite = Date()
        try cache.record(&follower, appending: Self.line("ask_user", "one"), asked: readBeforeTheWrite)
        #expect(cache.current(handle: "pod-1") != nil)
        try cache.noteHostWrite(at: readBeforeTheWrite.addingTimeInterval(0.001))
        #expect(cache.current(handle: "pod-1") == nil, "a copy that may lack scion's own write counted as current")
        try cache.record(&follower, appending: Data(), asked: readBeforeTheWrite.addingTimeInterval(0.002))
        #expect(cache.current(handle: "pod-1") != nil, "a read sent after the write did not make the copy current again")
        try orchestrator.delete("far", options: DeleteOptions(force: true))
    }

    @Test("a periodic sync waits for the agent's lock at most its timeout and leaves the agent to the command holding it; the period comes from the runtime's sync_interval")
    func periodicSyncYieldsToCommands() throws {
        let world = try FakeWorld(sharesHostPaths: false)
        let orchestrator = try Self.orchestrator(world)
        _ = try orchestrator.start(StartRequest(name: "far"))
        let agent = try #require(orchestrator.followedAgents().first { $0.name == "far" })
        // The fake runtime cannot sync: no period, whatever the setting says.
        #expect(agent.syncInterval == nil)
        do {
            let lock = try orchestrator.store.lock("far")
            let started = Date()
            #expect(try orchestrator.periodicSync(agent, lockTimeout: 0.3) == .busy)
            #expect(Date().timeIntervalSince(started) < 5)
            withExtendedLifetime(lock) {}
        }
        try orchestrator.delete("far", options: DeleteOptions(force: true))
    }
}

extension JSONEncoder {
    static var iso8601: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
