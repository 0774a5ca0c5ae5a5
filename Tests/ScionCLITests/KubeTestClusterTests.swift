import Foundation
import ScionTestSupport
import Testing

/// Proof that the Kubernetes test cluster is honest: the real kubectl 1.32 does against
/// it what a developer does against a cluster, and its pods are real docker containers.
@Suite(
    "Kubernetes test cluster, driven by the real kubectl",
    .enabled(if: TestKubeCluster.available, Comment(rawValue: TestKubeCluster.unavailableReason ?? "")))
struct KubeTestClusterTests {
    func pod(_ name: String, _ namespace: String, command: String, restart: String = "Never", extra: String = "") -> String {
        """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"\(name)","namespace":"\(namespace)","labels":{"app":"\(name)"}},
         "spec":{"restartPolicy":"\(restart)","terminationGracePeriodSeconds":1\(extra),
                 "containers":[{"name":"main","image":"scion-test:latest","command":["sh","-c",\(jsonString(command))]}]}}
        """
    }

    /// A namespace of the test's own with one running pod in it (`sleep 600`).
    func runningPod(_ name: String, prefix: String) throws -> (TestKubeCluster, String) {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace(prefix)
        try cluster.apply(pod(name, ns, command: "sleep 600"))
        try cluster.check("-n", ns, "wait", "--for=condition=Ready", "pod/\(name)", "--timeout=60s")
        return (cluster, ns)
    }

    func jsonString(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast().description
    }

    @Test("kubectl lists the namespaces and the node of a cluster started by up, and up again finds it running")
    func discoveryAndNamespaces() throws {
        let cluster = try TestKubeCluster.shared()
        let namespaces = try cluster.check("get", "ns")
        #expect(namespaces.contains("default") && namespaces.contains("kube-system") && namespaces.contains("Active"))
        #expect(try cluster.check("get", "nodes").contains("scion-test-node"))
        let version = try cluster.check("version", "-o", "json")
        #expect(version.contains("\"minor\": \"32\""))
        let again = try TestKubeCluster.start(in: cluster.directory)
        #expect(again.kubeconfig == cluster.kubeconfig)
    }

    @Test("kubectl run, wait, exec with its exit code, get -l -o json, describe and delete drive a real container")
    func podLifecycle() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace("life")
        defer { cluster.deleteNamespace(ns) }
        try cluster.check("-n", ns, "run", "web", "--image=scion-test:latest", "--restart=Never", "--labels=app=x", "--", "sleep", "600")
        try cluster.check("-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
        let exec = try cluster.kubectl(["-n", ns, "exec", "web", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"])
        #expect(exec.stdout == "hi\n")
        #expect(exec.stderr.contains("oops"))
        #expect(exec.status == 3)
        let json = try cluster.check("-n", ns, "get", "pods", "-l", "app=x", "-o", "json")
        let list = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let items = list?["items"] as? [[String: Any]] ?? []
        #expect(items.count == 1)
        let status = items.first?["status"] as? [String: Any]
        #expect(status?["phase"] as? String == "Running")
        let metadata = items.first?["metadata"] as? [String: Any]
        let uid = metadata?["uid"] as? String ?? ""
        #expect(!uid.isEmpty && metadata?["resourceVersion"] as? String != nil && metadata?["creationTimestamp"] as? String != nil)
        #expect(try cluster.check("-n", ns, "get", "pods", "-l", "app=y", "-o", "name").isEmpty)
        #expect(try cluster.check("-n", ns, "get", "pods", "--field-selector", "status.phase=Running", "-o", "name") == "pod/web\n")
        let table = try cluster.check("-n", ns, "get", "pods")
        #expect(table.contains("READY") && table.contains("1/1") && table.contains("Running"))
        let describe = try cluster.check("-n", ns, "describe", "pod", "web")
        #expect(describe.contains("Started container web") && describe.contains("Ready") && describe.contains("scion-test-node"))
        // The pod is a real container on the engine, named for the pod's container.
        let containers = try Shell.check(["docker", "ps", "--filter", "label=io.kubernetes.pod.uid=\(uid)", "--format", "{{.Names}}"])
        #expect(containers.hasPrefix("k8s_web_web_\(ns)_"))
        try cluster.check("-n", ns, "delete", "pod", "web", "--grace-period=1")
        #expect(try cluster.kubectl(["-n", ns, "get", "pod", "web"]).stderr.contains("NotFound"))
        #expect(try Shell.check(["docker", "ps", "-a", "--filter", "label=io.kubernetes.pod.uid=\(uid)", "-q"]).isEmpty)
    }

    @Test("kubectl exec -it gives a real interactive shell on a pseudo-terminal, resized with the terminal")
    func interactiveExec() throws {
        let (cluster, ns) = try runningPod("shell", prefix: "tty")
        defer { cluster.deleteNamespace(ns) }
        let terminal = try TerminalSession(
            running: [TestKubeCluster.kubectlPath ?? "kubectl", "-n", ns, "exec", "-it", "shell", "--", "sh"],
            environment: ["KUBECONFIG": cluster.kubeconfig])
        #expect(Shell.eventually(timeout: 20) { terminal.screen().contains("#") }, "no shell prompt: \(terminal.screen())")
        try terminal.type("tty; echo $((6*7))", "Enter")
        #expect(Shell.eventually(timeout: 20) { terminal.screen().contains("42") })
        #expect(terminal.screen().contains("/dev/pts/"))
        // The size kubectl sends reaches the pod's terminal; docker applies it
        // just after the exec starts, so a loaded machine may answer 0 0 first.
        var sized = false
        for _ in 0..<10 where !sized {
            try terminal.type("stty size", "Enter")
            sized = Shell.eventually(timeout: 2) { terminal.screen().contains("30 120") }
        }
        #expect(sized, "screen: \(terminal.screen())")
        try terminal.type("exit 4", "Enter")
        #expect(Shell.eventually(timeout: 20) { terminal.screen().contains("[terminal: exited with status 4]") })
    }

    @Test("kubectl cp copies a file into a pod and back out")
    func copy() throws {
        let (cluster, ns) = try runningPod("files", prefix: "cp")
        defer { cluster.deleteNamespace(ns) }
        let folder = try TemporaryDirectory("kube-cp")
        try folder.write("f", "data\n")
        try cluster.check("-n", ns, "cp", folder.file("f"), "files:/tmp/f")
        #expect(try cluster.check("-n", ns, "exec", "files", "--", "cat", "/tmp/f") == "data\n")
        try cluster.check("-n", ns, "exec", "files", "--", "sh", "-c", "echo back > /tmp/g")
        try cluster.check("-n", ns, "cp", "files:/tmp/g", folder.file("g"))
        #expect(folder.read("g") == "back\n")
    }

    @Test("kubectl logs -f follows a container until it ends; --tail and -c choose what is shown")
    func logs() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace("logs")
        defer { cluster.deleteNamespace(ns) }
        try cluster.apply(pod("talker", ns, command: "sleep 1; for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done"))
        try cluster.check("-n", ns, "wait", "--for=condition=Ready", "pod/talker", "--timeout=60s")
        let start = Date()
        let followed = try cluster.check("-n", ns, "logs", "-f", "talker", "-c", "main")
        #expect(followed == "line 1\nline 2\nline 3\nline 4\nline 5\n")
        #expect(Date().timeIntervalSince(start) > 0.5)
        #expect(try cluster.check("-n", ns, "logs", "talker", "--tail=2") == "line 4\nline 5\n")
        #expect(try cluster.check("-n", ns, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/talker", "--timeout=30s").contains("condition met"))
        #expect(try cluster.kubectl(["-n", ns, "logs", "talker", "-c", "nope"]).stderr.contains("container nope is not valid for pod talker"))
    }

    @Test("a pod gets a secret as environment and as files, an emptyDir, its workingDir and runAsUser, and the secret is not in its spec")
    func podSpecReachesTheContainer() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace("spec")
        defer { cluster.deleteNamespace(ns) }
        try cluster.apply(#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds"},"stringData":{"API_KEY":"s3cr3t-value"}}"#, namespace: ns)
        try cluster.apply("""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent"},
             "spec":{"restartPolicy":"Never","terminationGracePeriodSeconds":1,
               "securityContext":{"runAsUser":1000,"runAsNonRoot":true},
               "volumes":[{"name":"work","emptyDir":{}},{"name":"sec","secret":{"secretName":"creds"}}],
               "containers":[{"name":"agent","image":"scion-test:latest","workingDir":"/work","command":["sleep","600"],
                 "env":[{"name":"API_KEY","valueFrom":{"secretKeyRef":{"name":"creds","key":"API_KEY"}}},{"name":"PLAIN","value":"p"}],
                 "volumeMounts":[{"name":"work","mountPath":"/work"},{"name":"sec","mountPath":"/etc/sec"}]},
                {"name":"sidecar","image":"scion-test:latest","command":["sleep","600"]}]}}
            """, namespace: ns)
        try cluster.check("-n", ns, "wait", "--for=condition=Ready", "pod/agent", "--timeout=60s")
        let out = try cluster.check("-n", ns, "exec", "agent", "-c", "agent", "--", "sh", "-c",
                                    "id -u; pwd; echo $API_KEY $PLAIN; cat /etc/sec/API_KEY; echo; touch x && echo wrote")
        #expect(out == "1000\n/work\ns3cr3t-value p\ns3cr3t-value\nwrote\n")
        #expect(try cluster.check("-n", ns, "get", "pod", "agent", "-o", "jsonpath={.status.containerStatuses[*].name}") == "agent sidecar")
        #expect(!(try cluster.check("-n", ns, "get", "pod", "agent", "-o", "json")).contains("s3cr3t-value"))
        let uid = try cluster.check("-n", ns, "get", "pod", "agent", "-o", "jsonpath={.metadata.uid}")
        let names = try Shell.check(["docker", "ps", "--filter", "label=io.kubernetes.pod.uid=\(uid)", "--format", "{{.Names}}"])
        for name in names.split(separator: "\n") {
            let inspect = try Shell.check(["docker", "inspect", String(name)])
            #expect(!inspect.contains("s3cr3t-value") || inspect.contains("\"API_KEY=s3cr3t-value\""))
            #expect(!(try Shell.check(["docker", "inspect", "--format", "{{json .Args}}", String(name)])).contains("s3cr3t"))
        }
    }

    @Test("a restricted user gets 403 with the real message, a bad token 401, and the certificate and exec-credential users get in")
    func security() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace("auth")
        defer { cluster.deleteNamespace(ns) }
        let secret = #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"stringData":{"a":"b"}}"#
        let refused = try cluster.kubectl(["-n", ns, "create", "--validate=false", "-f", "-"], context: "scion-test-restricted", input: secret)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("secrets is forbidden: User \"restricted\" cannot create resource \"secrets\" in API group \"\" in the namespace \"\(ns)\""))
        #expect(try cluster.check("-n", ns, "get", "pods", context: "scion-test-restricted").isEmpty)
        let bad = try cluster.kubectl(["get", "pods", "--token=not-a-token"])
        #expect(bad.stderr.contains("Unauthorized"))
        #expect(try cluster.check("get", "ns", "default", context: "scion-test-cert").contains("default"))
        #expect(try cluster.check("get", "ns", "default", context: "scion-test-exec").contains("default"))
        // An exec-credential token that has expired is refused.
        let expired = try Shell.run(["sh", "-c", "d=$(mktemp -d); cp \"$0\"/exec-credential.sh \"$0\"/exec-seed \"$d\"; echo -5 > \"$d\"/exec-token-ttl; \"$d\"/exec-credential.sh", cluster.directory])
        let token = expired.stdout.components(separatedBy: "\"token\":\"").last?.components(separatedBy: "\"").first ?? ""
        #expect(token.hasPrefix("exec-"))
        #expect(try cluster.kubectl(["get", "pods", "--token=\(token)"]).stderr.contains("Unauthorized"))
    }

    @Test("kubectl create namespace, secret, configmap, serviceaccount and quota send protobuf bodies, which the cluster decodes like a real API server")
    func protobufBodies() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = "pb-\(UUID().uuidString.prefix(8).lowercased())"
        try cluster.check("create", "namespace", ns)
        defer { cluster.deleteNamespace(ns) }
        #expect(try cluster.check("get", "ns", ns, "-o", "jsonpath={.status.phase} {.metadata.labels.kubernetes\\.io/metadata\\.name}") == "Active \(ns)")
        try cluster.check("-n", ns, "create", "secret", "generic", "s", "--from-literal=a=b", "--from-literal=empty=")
        #expect(try cluster.check("-n", ns, "get", "secret", "s", "-o", "jsonpath={.type} {.data.a} [{.data.empty}]") == "Opaque Yg== []")
        try cluster.check("-n", ns, "create", "configmap", "c", "--from-literal=k=v w")
        #expect(try cluster.check("-n", ns, "get", "configmap", "c", "-o", "jsonpath={.data.k}") == "v w")
        try cluster.check("-n", ns, "create", "serviceaccount", "robot")
        #expect(try cluster.check("-n", ns, "get", "serviceaccount", "robot", "-o", "jsonpath={.metadata.name} {.metadata.uid}").hasPrefix("robot "))
        try cluster.check("-n", ns, "create", "quota", "q", "--hard=pods=3,cpu=2")
        #expect(try cluster.check("-n", ns, "get", "quota", "q", "-o", "jsonpath={.spec.hard.pods} {.spec.hard.cpu}") == "3 2")
        // The decoded object goes through the same checks as a JSON one: 409 and 403.
        let again = try cluster.kubectl(["-n", ns, "create", "secret", "generic", "s", "--from-literal=a=c"])
        #expect(again.status != 0 && again.stderr.contains("secrets \"s\" already exists"))
        let refused = try cluster.kubectl(["-n", ns, "create", "secret", "generic", "t", "--from-literal=a=b"], context: "scion-test-restricted")
        #expect(refused.status != 0 && refused.stderr.contains("User \"restricted\" cannot create resource \"secrets\""))
        // A pod reads the secret made from protobuf.
        let reader = pod("reader", ns, command: "echo \"$A\"; sleep 600")
            .replacingOccurrences(of: #""command":"#, with: #""env":[{"name":"A","valueFrom":{"secretKeyRef":{"name":"s","key":"a"}}}],"command":"#)
        try cluster.apply(reader)
        try cluster.check("-n", ns, "wait", "--for=condition=Ready", "pod/reader", "--timeout=60s")
        #expect(Shell.eventually(timeout: 10) { (try? cluster.check("-n", ns, "logs", "reader")) == "b\n" })
    }

    @Test("a missing image gives ErrImagePull then ImagePullBackOff with events, too big a request stays Unschedulable, and a quota gives 403")
    func schedulingFailures() throws {
        let cluster = try TestKubeCluster.shared()
        let ns = try cluster.makeNamespace("fail")
        defer { cluster.deleteNamespace(ns) }
        try cluster.check("-n", ns, "run", "nope", "--image=no-such-image:1", "--restart=Never", "--", "true")
        #expect(Shell.eventually(timeout: 20) {
            (try? cluster.check("-n", ns, "get", "pod", "nope", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}")) == "ImagePullBackOff"
        })
        let events = try cluster.check("-n", ns, "get", "events", "--field-selector", "involvedObject.name=nope")
        #expect(events.contains("Failed to pull image \"no-such-image:1\"") && events.contains("Back-off pulling image"))
        try cluster.apply(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big"},"spec":{"containers":[{"name":"big","image":"scion-test:latest","command":["sleep","60"],"resources":{"requests":{"cpu":"500"}}}]}}"#, namespace: ns)
        #expect(Shell.eventually(timeout: 20) {
            (try? cluster.check("-n", ns, "get", "pod", "big", "-o", "jsonpath={.status.conditions[0].reason}")) == "Unschedulable"
        })
        #expect(try cluster.check("-n", ns, "get", "pod", "big", "-o", "jsonpath={.status.conditions[0].message}").contains("Insufficient cpu"))
        #expect(try cluster.check("-n", ns, "get", "events").contains("FailedScheduling"))
        try cluster.apply(#"{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q1"},"spec":{"hard":{"pods":"2"}}}"#, namespace: ns)
        let refused = try cluster.kubectl(["-n", ns, "run", "third", "--image=scion-test:latest", "--restart=Never", "--", "true"])
        #expect(refused.stderr.contains("pods \"third\" is forbidden: exceeded quota: q1, requested: pods=1, used: pods=2, limited: pods=2"))
    }
}

/// Faults on demand and restarts, on a private cluster (they would disturb the shared one).
@Suite(
    "Kubernetes test cluster faults", .serialized,
    .enabled(if: TestKubeCluster.available, Comment(rawValue: TestKubeCluster.unavailableReason ?? "")))
struct KubeTestClusterFaultTests {
    let cluster: TestKubeCluster

    init() throws {
        cluster = try TestKubeCluster.start(in: "/tmp/scion-kube-faults-\(getpid())")
    }

    func fault(_ json: String) throws {
        let result = try cluster.script("fault", json)
        guard result.status == 0 else { throw TestFailure("fault \(json): \(result.stderr)") }
    }

    @Test("429 with Retry-After is retried by kubectl, 503 reaches it, latency is added, and a too old watch gets 410 Gone")
    func errorsAndLatency() throws {
        defer { _ = try? cluster.script("down") }
        try fault(#"{"error":{"code":429,"count":2,"retryAfter":1}}"#)
        let start = Date()
        #expect(try cluster.check("get", "ns", "default").contains("default"))
        #expect(Date().timeIntervalSince(start) >= 1.5)
        try fault(#"{"error":{"code":503,"count":20,"pathPrefix":"/api/v1/namespaces/default/pods"}}"#)
        let unavailable = try cluster.kubectl(["get", "pods", "--request-timeout=5s"])
        #expect(unavailable.status != 0)
        try fault(#"{"reset":true,"latencyMs":400}"#)
        let slow = Date()
        try cluster.check("get", "--raw", "/api/v1/namespaces/default")
        #expect(Date().timeIntervalSince(slow) >= 0.4)
        try fault(#"{"reset":true,"compact":true}"#)
        let watch = try cluster.check("get", "--raw", "/api/v1/pods?watch=1&resourceVersion=2")
        #expect(watch.contains("\"code\":410") && watch.contains("Expired"))
    }

    @Test("several holders share one cluster: down keeps it while a live holder is left, an exited holder does not count, down --force stops it")
    func sharedLeases() throws {
        // The suite's init took a lease for this test process; two more holders join.
        let a = try Holder(), b = try Holder()
        defer { a.stop(); b.stop(); _ = try? cluster.script(["down", "--force"], holder: getpid()) }
        #expect(try cluster.script(["up"], holder: a.pid).status == 0)
        #expect(try cluster.script(["up"], holder: b.pid).status == 0)
        #expect(try cluster.script("status").stdout.contains("3 live holder(s)"))
        let kept = try cluster.script("down")
        #expect(kept.status == 0 && kept.stderr.contains("still held by 2 live holder(s)"))
        #expect(try cluster.check("get", "ns", "default").contains("default"))
        b.stop()
        #expect(try cluster.script("status").stdout.contains("1 live holder(s)"))
        let last = try cluster.script(["down"], holder: a.pid)
        #expect(last.status == 0 && last.stderr.contains("stopped"))
        #expect(try cluster.script("status").status == 1)
        // down --force stops a cluster others still hold.
        _ = try TestKubeCluster.start(in: cluster.directory)
        #expect(try cluster.script(["up"], holder: a.pid).status == 0)
        #expect(try cluster.script(["down", "--force"], holder: getpid()).stderr.contains("stopped"))
        #expect(try cluster.script("status").status == 1)
    }

    @Test("dropped watches and exec sessions end their kubectl, and a restart keeps the pods, which still run and exec")
    func dropsAndRestart() throws {
        defer { _ = try? cluster.script("down") }
        try cluster.check("run", "keep", "--image=scion-test:latest", "--restart=Never", "--", "sleep", "600")
        try cluster.check("wait", "--for=condition=Ready", "pod/keep", "--timeout=60s")
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = cluster.kubeconfig
        let marks = try TemporaryDirectory("kube-drops")
        let record = marks.file("ended")
        try Shell.run(["sh", "-c", """
            ("$0" get pods -w >/dev/null 2>&1; echo watch-ended >> "$1") </dev/null >/dev/null 2>&1 &
            ("$0" exec keep -- sleep 60 >/dev/null 2>&1; echo exec-ended $? >> "$1") </dev/null >/dev/null 2>&1 &
            """, TestKubeCluster.kubectlPath ?? "kubectl", record], environment: env)
        usleep(2_500_000)
        #expect(marks.read("ended") == nil)
        try fault(#"{"dropWatches":true,"dropExecs":true}"#)
        #expect(Shell.eventually(timeout: 15) {
            let ended = marks.read("ended") ?? ""
            return ended.contains("watch-ended") && ended.contains("exec-ended")
        })
        #expect(!(marks.read("ended") ?? "").contains("exec-ended 0"))
        let uid = try cluster.check("get", "pod", "keep", "-o", "jsonpath={.metadata.uid}")
        let restart = try cluster.script("restart")
        #expect(restart.status == 0)
        #expect(try cluster.check("get", "pod", "keep", "-o", "jsonpath={.metadata.uid}") == uid)
        #expect(try cluster.check("exec", "keep", "--", "echo", "still") == "still\n")
    }
}

/// A process that holds a lease on a test cluster while it lives.
final class Holder {
    let process: Process

    init() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["600"]
        try process.run()
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGKILL: the test runner's children may inherit a mask that blocks SIGTERM.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
