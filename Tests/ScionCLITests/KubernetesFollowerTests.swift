import Foundation
import ScionCore
import ScionTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The grove broker's follower of remote agents (issue 10): `list` from
/// scion's own copy of a pod's events, periodic `sync from`, and what
/// `list` says once a pod died on its own.
@Suite("the grove broker follows agents on the test cluster", .serialized, .enabled(if: KubeCluster.available, Comment(rawValue: KubeCluster.disabledReason)))
struct KubernetesFollowerTests {
    @Test("the broker follows a remote agent: list shows what the pod reports from scion's own copy, a commit in the pod reaches the host branch every sync_interval with no sync command, and a pod that died on its own is listed with what was synced last")
    func followAndPeriodicSync() throws {
        let world = try KubeWorld()
        let sandbox = world.sandbox
        try sandbox.check("config", "set", "runtimes.kubernetes.sync_interval", "3s")
        try sandbox.check("start", "followed", "--harness", "shell", "sleep 600")
        let handle = try #require(try sandbox.agent("followed")?["handle"] as? String)
        let cache = ActivityCache(store: AgentStore(grove: world.grove), name: "followed")
        #expect(Shell.eventually(timeout: 30) { cache.current(handle: handle) != nil }, "no current follower: \(String(describing: cache.follower())); broker log: \(world.brokerLog)")

        // What the agent reports in the pod reaches list through the follower's copy.
        _ = try world.inPod("followed", #"printf '%s\n' '{"at":"2026-01-01T00:00:00Z","event":"ask_user","kind":"status","message":"which-one"}' >> "$HOME/.scion/events.jsonl""#)
        #expect(Shell.eventually(timeout: 20) {
            (try? String(contentsOfFile: cache.directory + "/events.jsonl", encoding: .utf8))?.contains("which-one") == true
        }, "the follower did not copy the event")
        let listed = try sandbox.agent("followed")
        #expect(listed?["activity"] as? String == "waiting_for_input", "listed: \(String(describing: listed))")
        #expect(listed?["activity_message"] as? String == "which-one")

        // A commit in the pod comes home by itself.
        _ = try world.inPod("followed", "echo p > periodic.txt && git add periodic.txt && git commit -q -m periodic-commit")
        #expect(Shell.eventually(timeout: 40) { (try? sandbox.repository.git("log", "-1", "--format=%s", "followed")) == "periodic-commit" },
                "the commit did not reach the host branch without a sync; broker log: \(world.brokerLog)")
        let last = try #require(cache.lastSync())
        #expect(last.periodic)

        // A killed broker comes back with the next list, which meanwhile reads through the runtime.
        let broker = GroveBroker(grove: world.grove)
        let pid = try #require(Int32((try? String(contentsOfFile: broker.lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
        kill(pid, SIGKILL)
        #expect(Shell.eventually(timeout: 10) { !broker.isRunning })
        #expect(try sandbox.agent("followed")?["activity"] as? String == "waiting_for_input")
        #expect(Shell.eventually(timeout: 20) { broker.isRunning && cache.current(handle: handle) != nil }, "list did not start the broker again")

        // The pod dies on its own: list says what the branch holds.
        _ = try KubeCluster.kubectl("delete", "pod", handle, "--wait=true")
        #expect(Shell.eventually(timeout: 30) {
            ((try? sandbox.agent("followed"))?["detail"] as? String)?.contains("synced last (commit \(last.commit.prefix(12))") == true
        }, "detail: \(String(describing: try? sandbox.agent("followed")?["detail"]))")
        try sandbox.check("delete", "followed", "--force")
        #expect(Shell.eventually(timeout: 30) { !broker.isRunning }, "the broker outlived the grove's last remote agent")
    }
}

extension KubeWorld {
    var brokerLog: String {
        (try? String(contentsOfFile: GroveBroker(grove: grove).logPath, encoding: .utf8)).map { String($0.suffix(2000)) } ?? "(none)"
    }
}
