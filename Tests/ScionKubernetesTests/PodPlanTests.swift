import Foundation
import ScionKubeWebSocket
import ScionKubernetesClient
import ScionPluginKit
import Testing

func runSpec(env: [String: String] = ["ANTHROPIC_API_KEY": "sk-secret-value", "SCION_AGENT": "web"], user: RunSpec.User? = nil) -> RunSpec {
    RunSpec(
        name: "My_Grove-1a2b--web", agent: "web", grove: "My_Grove", image: "scion-test:latest",
        command: ["claude", "--task", "fix the login bug"], env: env, secretEnv: ["ANTHROPIC_API_KEY"],
        labels: ["scion.agent": "true", "scion.name": "web", "scion.grove_path": "/home/me/repo/.scion"],
        workdir: "/home/me/repo/.scion/worktrees/web", home: "/home/me/repo/.scion/agents/web/home",
        resources: RunSpec.Resources(memory: "2g", cpus: "1.5"), user: user,
        runtimeConfig: ["namespace": .string("agents")])
}

@Suite("one pod per agent")
struct PodPlanTests {
    @Test("secrets go into a Secret the pod references, never into the pod spec")
    func secretsReferenced() throws {
        let plan = try PodPlan(spec: runSpec(), startID: "s1")
        let pod = String(decoding: plan.podJSON, as: UTF8.self)
        #expect(!pod.contains("sk-secret-value"))
        #expect(!pod.contains("fix the login bug"), "the harness argv travels in the home's launch files")
        #expect(pod.contains("secretKeyRef"))
        let secret = try #require(plan.secretJSON)
        #expect(String(decoding: secret, as: UTF8.self).contains(Data("sk-secret-value".utf8).base64EncodedString()))
        #expect(plan.secretName == plan.podName + "-env")
    }

    @Test("the agent container is named, non-root, without capabilities, with the spec's resources")
    func container() throws {
        let plan = try PodPlan(spec: runSpec(user: RunSpec.User(uid: 0, gid: 0, name: "root")), startID: "s1")
        let spec = try #require(plan.pod["spec"] as? [String: Any])
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        #expect(container["name"] as? String == "agent")
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["runAsNonRoot"] as? Bool == true)
        #expect(security["runAsUser"] as? Int == 1000, "a root host user still gets a non-root pod")
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
        let limits = try #require((container["resources"] as? [String: Any])?["limits"] as? [String: String])
        #expect(limits == ["memory": "2Gi", "cpu": "1500m"])
        #expect(container["workingDir"] as? String == "/home/me/repo/.scion/worktrees/web")
        #expect(spec["restartPolicy"] as? String == "Never")
    }

    @Test("labels that cannot be label values are kept exactly in an annotation, and list reads them back")
    func labels() throws {
        let plan = try PodPlan(spec: runSpec(), startID: "s1")
        let metadata = try #require(plan.pod["metadata"] as? [String: Any])
        let labels = try #require(metadata["labels"] as? [String: String])
        #expect(labels["scion.grove_path"] == nil)
        #expect(labels["scion.agent"] == "true" && labels["scion.start"] == "s1")
        var pod = plan.pod
        pod["status"] = ["phase": "Running", "containerStatuses": [["name": "agent", "state": ["running": [String: Any]()]]]]
        let agent = PodOperations.runtimeAgent(pod)
        #expect(agent.labels["scion.grove_path"] == "/home/me/repo/.scion")
        #expect(agent.name == "My_Grove-1a2b--web")
        #expect(agent.state == .running)
        #expect(PodOperations.selector(runSpec().labels) == "scion.agent=true,scion.name=web")
    }

    @Test("pod names are DNS names; a name that had to change gets a hash so two never collide")
    func names() {
        #expect(PodPlan.objectName("g--web") == "g--web")
        let a = PodPlan.objectName("My_Grove--web"), b = PodPlan.objectName("my-grove--web")
        #expect(a != b)
        #expect(a.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
        #expect(PodPlan.objectName(String(repeating: "x", count: 100)).count <= 63)
    }

    @Test("a pod that cannot pull its image or be scheduled is explained with the fix")
    func startProblems() throws {
        let plan = try PodPlan(spec: runSpec(), startID: "s1")
        let pulling: [String: Any] = ["status": ["phase": "Pending", "containerStatuses": [
            ["name": "agent", "state": ["waiting": ["reason": "ImagePullBackOff", "message": "Back-off pulling image \"nope:1\""]]],
        ]]]
        let pull = try #require(PodOperations.startProblem(pulling, plan: plan, agent: "web", namespace: "agents"))
        #expect(pull.error.message.contains("cannot pull image scion-test:latest"))
        #expect(pull.error.message.contains("ImagePullBackOff"))
        #expect(pull.error.message.contains("registry"))
        let unschedulable: [String: Any] = ["status": ["phase": "Pending", "conditions": [
            ["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available: 1 Insufficient memory."],
        ]]]
        let schedule = try #require(PodOperations.startProblem(unschedulable, plan: plan, agent: "web", namespace: "agents"))
        #expect(schedule.unschedulable)
        #expect(schedule.error.message.contains("Insufficient memory"))
        #expect(schedule.error.message.contains("lower the agent's resources"))
        let sidecar: [String: Any] = ["status": ["phase": "Running", "containerStatuses": [
            ["name": "istio-proxy", "state": ["waiting": ["reason": "ImagePullBackOff"]]],
            ["name": "agent", "state": ["running": [String: Any]()]],
        ]]]
        #expect(PodOperations.startProblem(sidecar, plan: plan, agent: "web", namespace: "agents") == nil, "only the agent container counts")
    }

    @Test("the exit code comes from the error channel's Status")
    func exitCodes() {
        #expect(RemoteCommand.exitCode(fromStatus: Data(#"{"status":"Success"}"#.utf8)).code == 0)
        // What the API server sends: the cause's type under the key "reason".
        let failure = #"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        #expect(RemoteCommand.exitCode(fromStatus: Data(failure.utf8)).code == 3)
        let other = RemoteCommand.exitCode(fromStatus: Data(#"{"status":"Failure","message":"container not found"}"#.utf8))
        #expect(other.code == nil && other.message == "container not found")
    }
}

@Suite("API errors in plain words")
struct KubeErrorTests {
    func client() -> KubeClient {
        KubeClient(access: ClusterAccess(
            server: "https://api.example:6443", namespace: "agents", contextName: "dev", userName: "alice", caPEM: nil,
            insecureSkipTLSVerify: false, tlsServerName: nil, clientCertificatePEM: nil, clientKeyPEM: nil, credential: .none))
    }

    func response(_ status: Int, _ message: String, reason: String) -> KubeResponse {
        let body = try! JSONSerialization.data(withJSONObject: ["kind": "Status", "status": "Failure", "message": message, "reason": reason, "code": status])
        return KubeResponse(status: status, body: body, headers: [:])
    }

    @Test("RBAC, quota and credential errors name the context, user and server, and the way out")
    func wording() {
        let forbidden = client().error(response(403, #"secrets is forbidden: User "alice" cannot create resource "secrets""#, reason: "Forbidden"), doing: "create secret web-env")
        #expect(forbidden.code == .permissionDenied)
        #expect(forbidden.message.contains("user alice may not create secret web-env"))
        #expect(forbidden.message.contains("context dev (user alice) at https://api.example:6443"))
        #expect(forbidden.message.contains("Role"))
        let quota = client().error(response(403, #"pods "web" is forbidden: exceeded quota: agents, requested: memory=2Gi"#, reason: "Forbidden"), doing: "create pod web")
        #expect(quota.code.rawValue == "quota_exceeded")
        #expect(quota.message.contains("over its resource quota"))
        let unauthorized = client().error(response(401, "Unauthorized", reason: "Unauthorized"), doing: "list pods")
        #expect(unauthorized.message.contains("refused the credentials of user alice"))
    }
}
