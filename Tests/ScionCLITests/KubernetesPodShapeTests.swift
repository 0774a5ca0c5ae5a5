import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// Pods as clusters really make them (issue 10): with a sidecar an
/// injector added, and several started at once.
@Suite("kubernetes pods with sidecars and parallel starts", .serialized, .enabled(if: KubeCluster.available, Comment(rawValue: KubeCluster.disabledReason)))
struct KubernetesPodShapeTests {
    @Test("a pod with an injected sidecar works: look, logs, message, sync and delete reach the agent container by its name")
    func sidecarPod() throws {
        let world = try KubeWorld()
        let sandbox = world.sandbox
        let name = "sidecarred"
        // As Istio's injector would: every new pod of this agent gets a second container.
        let injection: [String: Any] = [
            "injectSidecar": [
                "selector": ["scion.name": name, Grove.idLabel: world.grove.id],
                "container": ["name": "istio-proxy", "image": "scion-test:latest", "command": ["sh", "-c", "echo sidecar-up; exec sleep 3600"]],
            ],
        ]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: injection), as: UTF8.self)
        #expect(try KubeCluster.control("fault", body).status == 0)
        defer { _ = try? KubeCluster.control("fault", #"{"injectSidecar": {}}"#) }

        try sandbox.check(
            "start", name, "--harness", "shell",
            #"echo agent-marker; echo s > s.txt && git add s.txt && git commit -q -m in-sidecar-pod; read line; echo "got-$line"; sleep 600"#)
        let pod = try #require(try world.podJSON(name), "no pod for agent \(name)")
        let containers = (pod["spec"] as? [String: Any])?["containers"] as? [[String: Any]] ?? []
        #expect(containers.map { $0["name"] as? String } == ["agent", "istio-proxy"], "the injector did not add the sidecar")
        #expect(try KubeCluster.kubectl("logs", world.pod(name), "-c", "istio-proxy").stdout.contains("sidecar-up"))

        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("look", name))?.contains("agent-marker") == true })
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("logs", name))?.contains("agent-marker") == true })
        try sandbox.check("message", name, "hello-sidecar")
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("look", name))?.contains("got-hello-sidecar") == true })
        #expect(Shell.eventually(timeout: 20) { (try? world.inPod(name, "git log -1 --format=%s").stdout) == "in-sidecar-pod\n" })
        try sandbox.check("sync", "from", name)
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", name) == "in-sidecar-pod")
        #expect(try sandbox.agent(name)?["phase"] as? String == "running")
        try sandbox.check("delete", name, "--preserve-branch")
        #expect(Shell.eventually(timeout: 30) { (try? world.podJSON(name)) == nil }, "the pod outlived delete")
    }

    @Test("six parallel starts on -p remote all run, each with its workspace and session, and none loses an exec stream")
    func parallelStarts() throws {
        let world = try KubeWorld()
        let sandbox = world.sandbox
        let names = (1...6).map { "par\($0)" }
        let results = Locked<[String: Shell.Result]>([:])
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let name = names[index]
            let result = try? sandbox.scion("start", name, "--harness", "shell", "echo ready-\(name); sleep 600")
            results.withLock { $0[name] = result }
        }
        for name in names {
            let result = results.withLock { $0[name] }
            #expect(result?.status == 0, "start \(name): \(result?.stderr ?? "scion did not run")")
        }
        for name in names {
            #expect(Shell.eventually(timeout: 30) { (try? sandbox.check("look", name))?.contains("ready-\(name)") == true }, "agent \(name) has no session")
            #expect(try world.inPod(name, "git rev-parse --abbrev-ref HEAD").stdout == "\(name)\n", "agent \(name)'s branch did not reach its pod")
        }
        let listed = try sandbox.agents().filter { names.contains($0["name"] as? String ?? "") }
        #expect(listed.count == 6 && listed.allSatisfy { $0["phase"] as? String == "running" }, "listed: \(listed)")
        _ = try sandbox.scion(["delete", "--force"] + names)
    }
}

/// A value behind a lock, for tests that gather results from threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
