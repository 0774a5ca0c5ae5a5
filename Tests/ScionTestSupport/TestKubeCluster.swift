import Foundation

/// The Kubernetes test cluster (scripts/kube-test-cluster.sh, Tests/KubeTestCluster): an API
/// server whose pods are docker containers, driven here with the real kubectl.
///
/// `shared` is the one cluster every test process uses (started on first use, idempotent;
/// scripts/test.sh starts it before the tests and stops it after). `start(in:)` makes a
/// private one for tests that restart it or inject faults.
public struct TestKubeCluster: Sendable {
    public let directory: String
    public let kubeconfig: String

    public static let script = BuildProducts.packageRoot + "/scripts/kube-test-cluster.sh"
    public static let kubectlPath: String? = ["/usr/local/bin/kubectl", "/usr/bin/kubectl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Why the cluster cannot run here, nil when it can. In CI (CI=true) it must run, so
    /// this is nil there and a missing piece fails the tests.
    public static let unavailableReason: String? = {
        let env = ProcessInfo.processInfo.environment
        if env["CI"] == "true" { return nil }
        if env["SCION_TEST_ENGINES"] == "0" { return "SCION_TEST_ENGINES=0 excludes the Kubernetes test cluster (its pods are docker containers)" }
        if kubectlPath == nil { return "kubectl is not installed, so the Kubernetes test cluster tests cannot run" }
        let docker = try? Shell.run(["docker", "version", "--format", "{{.Server.Version}}"])
        if docker?.status != 0 { return "docker does not answer (run scripts/test-env.sh), so the Kubernetes test cluster cannot run pods" }
        return nil
    }()

    public static var available: Bool { unavailableReason == nil }

    private static let sharedResult: Result<TestKubeCluster, TestFailure> = {
        let dir = ProcessInfo.processInfo.environment["KUBE_TEST_CLUSTER_DIR"] ?? "/tmp/scion-kube-test-cluster"
        do { return .success(try start(in: dir)) } catch { return .failure(TestFailure("\(error)")) }
    }()

    /// The cluster all tests share.
    public static func shared() throws -> TestKubeCluster { try sharedResult.get() }

    /// Starts (or finds running) the cluster whose state lives in `directory`.
    public static func start(in directory: String, serverArguments: String = "") throws -> TestKubeCluster {
        let result = try Shell.run(["bash", script, "up"], environment: environment(directory, serverArguments))
        guard result.status == 0, let last = result.stdout.split(separator: "\n").last, last.hasPrefix("KUBECONFIG=") else {
            throw TestFailure("scripts/kube-test-cluster.sh up failed (\(result.status)): \(result.stderr)")
        }
        return TestKubeCluster(directory: directory, kubeconfig: String(last.dropFirst("KUBECONFIG=".count)))
    }

    static func environment(_ directory: String, _ serverArguments: String = "") -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["KUBE_TEST_CLUSTER_DIR"] = directory
        env["KUBE_TEST_CLUSTER_BIN"] = BuildProducts.directory + "/kube-test-cluster"
        if !serverArguments.isEmpty { env["KUBE_TEST_CLUSTER_ARGS"] = serverArguments }
        return env
    }

    /// Runs the cluster script (`down`, `restart`, `fault JSON`) for this cluster.
    @discardableResult
    public func script(_ arguments: String...) throws -> Shell.Result {
        try Shell.run(["bash", TestKubeCluster.script] + arguments, environment: TestKubeCluster.environment(directory))
    }

    /// Runs the cluster script for this cluster on behalf of a lease holder (`up` takes a
    /// lease for it, `down` releases one; KUBE_TEST_CLUSTER_HOLDER).
    @discardableResult
    public func script(_ arguments: [String], holder: Int32) throws -> Shell.Result {
        var env = TestKubeCluster.environment(directory)
        env["KUBE_TEST_CLUSTER_HOLDER"] = String(holder)
        return try Shell.run(["bash", TestKubeCluster.script] + arguments, environment: env)
    }

    /// Runs kubectl against this cluster.
    @discardableResult
    public func kubectl(_ arguments: [String], context: String? = nil, input: String? = nil) throws -> Shell.Result {
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = kubeconfig
        let argv = [TestKubeCluster.kubectlPath ?? "kubectl"] + (context.map { ["--context", $0] } ?? []) + arguments
        return try Shell.run(argv, environment: env, input: input)
    }

    /// Runs kubectl and requires success; returns its stdout.
    @discardableResult
    public func check(_ arguments: String..., context: String? = nil, input: String? = nil) throws -> String {
        let result = try kubectl(arguments, context: context, input: input)
        guard result.status == 0 else {
            throw TestFailure("kubectl \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }

    /// Creates objects from YAML or JSON (the server has no OpenAPI document, so no client-side validation).
    public func apply(_ manifest: String, namespace: String? = nil) throws {
        var args = ["create", "--validate=false", "-f", "-"]
        if let namespace { args += ["-n", namespace] }
        let result = try kubectl(args, input: manifest)
        guard result.status == 0 else { throw TestFailure("kubectl create failed (\(result.status)): \(result.stderr)") }
    }

    /// A namespace of the test's own, so tests sharing the cluster do not meet.
    public func makeNamespace(_ prefix: String) throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try apply("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"\(name)\",\"labels\":{\"scion.test\":\"true\"}}}")
        return name
    }

    public func deleteNamespace(_ name: String) {
        _ = try? kubectl(["delete", "namespace", name, "--wait=false"])
    }

    /// The admin bearer token (for raw HTTPS requests with curl).
    public func adminToken() throws -> String {
        let text = try String(contentsOfFile: directory + "/tokens.json", encoding: .utf8)
        guard let data = text.data(using: .utf8), let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let token = object["admin"] as? String else { throw TestFailure("no admin token in \(directory)/tokens.json") }
        return token
    }

    public var port: String { (try? String(contentsOfFile: directory + "/port", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
}
