import Foundation
import ScionKubernetesClient
import ScionPluginKit
import Testing

/// A temporary folder with kubeconfig files, removed at the end.
final class KubeFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "scion-kube-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return file
    }
}

func kubeconfig(cluster: String, server: String, user: String, context: String, current: String? = nil, userFields: String = "token: abc", clusterFields: String = "") -> String {
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: \(cluster)
      cluster:
        server: \(server)
    \(clusterFields.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    users:
    - name: \(user)
      user:
    \(userFields.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    contexts:
    - name: \(context)
      context:
        cluster: \(cluster)
        user: \(user)
        namespace: team-\(context)
    \(current.map { "current-context: \($0)" } ?? "")
    """
}

@Suite("kubeconfig like kubectl")
struct KubeConfigTests {
    @Test("the KUBECONFIG list is merged: the first file to name a context wins, and its current-context")
    func mergesTheList() throws {
        let folder = try KubeFolder()
        let first = try folder.write("a", kubeconfig(cluster: "one", server: "https://one:6443", user: "u1", context: "dev", current: "dev"))
        let second = try folder.write("b", kubeconfig(cluster: "one", server: "https://shadowed:1", user: "u2", context: "prod", current: "prod"))
        let access = try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": "\(first):\(folder.path)/missing:\(second)"])
        #expect(access.contextName == "dev")
        #expect(access.server == "https://one:6443")
        #expect(access.namespace == "team-dev")
        #expect(access.credential == .token("abc"))
        let prod = try ClusterAccess.resolve(options: ["context": .string("prod")], environment: ["KUBECONFIG": "\(first):\(second)"])
        #expect(prod.server == "https://one:6443", "cluster one is defined by the first file")
        #expect(prod.userName == "u2")
    }

    @Test("runtimes.<name>.context and namespace override the kubeconfig's")
    func optionsOverride() throws {
        let folder = try KubeFolder()
        let file = try folder.write("c", kubeconfig(cluster: "c", server: "https://c", user: "u", context: "x", current: "x"))
        let access = try ClusterAccess.resolve(options: ["namespace": .string("agents")], environment: ["KUBECONFIG": file])
        #expect(access.namespace == "agents")
        #expect(throws: PluginError.self) { try ClusterAccess.resolve(options: ["context": .string("nope")], environment: ["KUBECONFIG": file]) }
        do {
            _ = try ClusterAccess.resolve(options: ["context": .string("nope")], environment: ["KUBECONFIG": file])
        } catch let error as PluginError {
            #expect(error.message.contains("has no context nope"))
            #expect(error.message.contains("it has x"))
        }
    }

    @Test("CA and client certificate come from data or from files relative to the kubeconfig")
    func certificates() throws {
        let folder = try KubeFolder()
        try folder.write("ca.pem", "CA PEM")
        try folder.write("client.pem", "CERT PEM")
        try folder.write("client.key", "KEY PEM")
        let file = try folder.write("k", kubeconfig(
            cluster: "c", server: "https://c/", user: "u", context: "x", current: "x",
            userFields: "client-certificate: client.pem\nclient-key: client.key",
            clusterFields: "certificate-authority: ca.pem\ntls-server-name: api.internal"))
        let access = try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": file])
        #expect(access.server == "https://c")
        #expect(access.caPEM == Data("CA PEM".utf8))
        #expect(access.clientCertificatePEM == Data("CERT PEM".utf8))
        #expect(access.clientKeyPEM == Data("KEY PEM".utf8))
        #expect(access.tlsServerName == "api.internal")
        #expect(access.credential == .none)

        let inline = try folder.write("i", kubeconfig(
            cluster: "c", server: "https://c", user: "u", context: "x", current: "x",
            userFields: "client-certificate-data: \(Data("C".utf8).base64EncodedString())\nclient-key-data: \(Data("K".utf8).base64EncodedString())",
            clusterFields: "certificate-authority-data: \(Data("A".utf8).base64EncodedString())\ninsecure-skip-tls-verify: true"))
        let data = try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": inline])
        #expect(data.caPEM == Data("A".utf8) && data.clientCertificatePEM == Data("C".utf8) && data.clientKeyPEM == Data("K".utf8))
        #expect(data.insecureSkipTLSVerify)
    }

    @Test("a missing current-context names the contexts there are")
    func noCurrentContext() throws {
        let folder = try KubeFolder()
        let file = try folder.write("n", kubeconfig(cluster: "c", server: "https://c", user: "u", context: "only"))
        #expect {
            try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": file])
        } throws: { error in
            (error as? PluginError)?.message.contains("has no current-context: set runtimes.kubernetes.context to one of only") == true
        }
    }

    @Test("with no kubeconfig, a pod's service account is used; elsewhere the error says what to do")
    func inCluster() throws {
        let folder = try KubeFolder()
        try folder.write("token", "sa-token\n")
        try folder.write("ca.crt", "SA CA")
        try folder.write("namespace", "agents\n")
        let environment = ["KUBECONFIG": folder.path + "/none", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let access = try ClusterAccess.resolve(options: [:], environment: environment, serviceAccountDirectory: folder.path)
        #expect(access.server == "https://10.0.0.1:443")
        #expect(access.namespace == "agents")
        #expect(access.caPEM == Data("SA CA".utf8))
        #expect(try CredentialProvider(access: access).credential().bearerToken == "sa-token")
        #expect {
            try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": folder.path + "/none"])
        } throws: { error in
            (error as? PluginError)?.message.contains("no Kubernetes cluster is configured") == true
        }
    }

    @Test("a token file is read again for every request (bound tokens rotate)")
    func tokenFile() throws {
        let folder = try KubeFolder()
        let tokenPath = try folder.write("t", "first")
        let file = try folder.write("k", kubeconfig(cluster: "c", server: "https://c", user: "u", context: "x", current: "x", userFields: "tokenFile: t"))
        let provider = CredentialProvider(access: try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": file]))
        #expect(try provider.credential().bearerToken == "first")
        try Data("second".utf8).write(to: URL(fileURLWithPath: tokenPath))
        #expect(try provider.credential().bearerToken == "second")
    }
}

@Suite("exec credential plugins")
struct ExecCredentialTests {
    func plugin(_ folder: KubeFolder, apiVersion: String, expiry: String) throws -> String {
        // Counts its runs in a file, and prints a token naming the run.
        try folder.write("plugin", """
            #!/bin/sh
            n=$(cat "$(dirname "$0")/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$(dirname "$0")/runs"
            case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) echo "no exec info" >&2; exit 1;; esac
            [ "$PLUGIN_ENV" = set ] || { echo "env not passed" >&2; exit 1; }
            printf '{"apiVersion":"\(apiVersion)","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}' "$n" "\(expiry)"
            """, mode: 0o755)
        return try folder.write("k", kubeconfig(
            cluster: "c", server: "https://c", user: "u", context: "x", current: "x",
            userFields: "exec:\n  apiVersion: \(apiVersion)\n  command: ./plugin\n  env:\n  - name: PLUGIN_ENV\n    value: set"))
    }

    @Test("an exec credential is cached until it expires and run again after a 401", arguments: [
        "client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1",
    ])
    func cachedUntilExpiry(apiVersion: String) throws {
        let folder = try KubeFolder()
        let file = try plugin(folder, apiVersion: apiVersion, expiry: "2999-01-01T00:00:00Z")
        let environment = ["KUBECONFIG": file, "PATH": "/usr/bin:/bin"]
        let provider = CredentialProvider(access: try ClusterAccess.resolve(options: [:], environment: environment), environment: environment)
        #expect(try provider.credential().bearerToken == "tok-1")
        #expect(try provider.credential().bearerToken == "tok-1")
        #expect(provider.invalidate())
        #expect(try provider.credential().bearerToken == "tok-2")
        #expect(provider.execRuns == 2)
    }

    @Test("an expired exec credential is fetched again")
    func expired() throws {
        let folder = try KubeFolder()
        let file = try plugin(folder, apiVersion: "client.authentication.k8s.io/v1", expiry: "2000-01-01T00:00:00Z")
        let environment = ["KUBECONFIG": file, "PATH": "/usr/bin:/bin"]
        let provider = CredentialProvider(access: try ClusterAccess.resolve(options: [:], environment: environment), environment: environment)
        #expect(try provider.credential().bearerToken == "tok-1")
        #expect(try provider.credential().bearerToken == "tok-2")
    }

    @Test("a failing exec plugin is reported with its user, context and server")
    func failing() throws {
        let folder = try KubeFolder()
        try folder.write("plugin", "#!/bin/sh\necho 'login required' >&2\nexit 4\n", mode: 0o755)
        let file = try folder.write("k", kubeconfig(
            cluster: "c", server: "https://c", user: "u", context: "x", current: "x",
            userFields: "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ./plugin"))
        let provider = CredentialProvider(access: try ClusterAccess.resolve(options: [:], environment: ["KUBECONFIG": file]))
        #expect {
            try provider.credential()
        } throws: { error in
            let message = (error as? PluginError)?.message ?? ""
            return message.contains("user u") && message.contains("context x") && message.contains("https://c")
                && message.contains("exit status 4") && message.contains("login required")
        }
    }
}
