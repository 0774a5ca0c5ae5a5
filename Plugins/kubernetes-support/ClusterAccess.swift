import Foundation
import ScionPluginKit

/// How to reach one cluster as one user: what a kubeconfig context (or a
/// pod's service account) resolves to. Credentials are kept in memory only.
public struct ClusterAccess: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        case none
        case token(String)
        /// Re-read at every request: bound service-account tokens rotate.
        case tokenFile(String)
        case exec(KubeConfig.ExecConfig)
    }

    /// `https://host:port`, without a trailing slash.
    public var server: String
    public var namespace: String
    /// The context's name, or "in-cluster".
    public var contextName: String
    public var userName: String
    public var caPEM: Data?
    public var insecureSkipTLSVerify: Bool
    public var tlsServerName: String?
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
    public var credential: Credential

    /// The settings keys of `runtimes.<name>` this runtime reads.
    public enum Option {
        public static let context = "context"
        public static let namespace = "namespace"
        /// A kubeconfig file used instead of KUBECONFIG / ~/.kube/config.
        public static let kubeconfig = "kubeconfig"
    }

    public init(
        server: String, namespace: String, contextName: String, userName: String, caPEM: Data?, insecureSkipTLSVerify: Bool,
        tlsServerName: String?, clientCertificatePEM: Data?, clientKeyPEM: Data?, credential: Credential
    ) {
        self.server = server
        self.namespace = namespace
        self.contextName = contextName
        self.userName = userName
        self.caPEM = caPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.credential = credential
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// "context kind-dev (user dev-admin) at https://...": said in every error.
    public var summary: String {
        "context \(contextName) (user \(userName.isEmpty ? "none" : userName)) at \(server)"
    }

    /// Resolves the runtime options against the kubeconfig files (or the
    /// pod's service account when there is no kubeconfig and the process
    /// runs in a pod), as kubectl does.
    public static func resolve(
        options: [String: JSONValue], environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = serviceAccountDirectory
    ) throws -> ClusterAccess {
        let wantedContext = options[Option.context]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let wantedNamespace = options[Option.namespace]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let paths: [String]
        if let explicit = options[Option.kubeconfig]?.stringValue, !explicit.isEmpty {
            paths = [TildePath.expand(explicit, home: environment["HOME"])]
        } else {
            paths = KubeConfig.files(environment: environment)
        }
        let config = try KubeConfig.load(paths)
        if config.files.isEmpty {
            if wantedContext == nil, let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
                return try inCluster(host: host, port: environment["KUBERNETES_SERVICE_PORT"] ?? "443",
                                     namespace: wantedNamespace, directory: serviceAccountDirectory)
            }
            throw PluginError(
                .failedPrecondition,
                "no Kubernetes cluster is configured: no kubeconfig at \(paths.joined(separator: ", ")) and this is not a pod; "
                    + "point KUBECONFIG at a kubeconfig (or set runtimes.kubernetes.kubeconfig)")
        }
        return try fromKubeConfig(config, context: wantedContext, namespace: wantedNamespace)
    }

    public static func fromKubeConfig(_ config: KubeConfig, context wanted: String?, namespace: String?) throws -> ClusterAccess {
        let files = config.files.joined(separator: ", ")
        guard let contextName = wanted ?? config.currentContext else {
            throw PluginError(
                .failedPrecondition,
                "kubeconfig \(files) has no current-context: set runtimes.kubernetes.context to one of "
                    + "\(config.contexts.keys.sorted().joined(separator: ", ")) or run `kubectl config use-context`")
        }
        guard let context = config.contexts[contextName] else {
            throw PluginError(
                .notFound,
                "kubeconfig \(files) has no context \(contextName) (it has \(config.contexts.keys.sorted().joined(separator: ", ")))",
                details: ["context": .string(contextName)])
        }
        guard let cluster = config.clusters[context.cluster], !cluster.server.isEmpty else {
            throw PluginError(
                .failedPrecondition,
                "context \(contextName) in kubeconfig \(files) names cluster \(context.cluster), which has no server")
        }
        let user = context.user.isEmpty ? KubeConfig.User() : config.users[context.user]
        guard let user else {
            throw PluginError(.failedPrecondition, "context \(contextName) in kubeconfig \(files) names user \(context.user), which is not defined")
        }
        var access = ClusterAccess(
            server: trimmedServer(cluster.server), namespace: namespace ?? context.namespace ?? "default",
            contextName: contextName, userName: context.user, caPEM: nil,
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify, tlsServerName: cluster.tlsServerName,
            clientCertificatePEM: nil, clientKeyPEM: nil, credential: .none)
        access.caPEM = try cluster.certificateAuthorityData ?? cluster.certificateAuthority.map { try access.read($0, "certificate-authority") }
        access.clientCertificatePEM = try user.clientCertificateData
            ?? user.clientCertificate.map { try access.read($0, "client-certificate") }
        access.clientKeyPEM = try user.clientKeyData ?? user.clientKey.map { try access.read($0, "client-key") }
        if (access.clientCertificatePEM == nil) != (access.clientKeyPEM == nil) {
            throw PluginError(.failedPrecondition, "user \(context.user) of \(access.summary) has a client certificate without its key, or a key without its certificate")
        }
        if let token = user.token {
            access.credential = .token(token)
        } else if let file = user.tokenFile {
            access.credential = .tokenFile(file)
        } else if let exec = user.exec {
            access.credential = .exec(exec)
        }
        return access
    }

    static func inCluster(host: String, port: String, namespace: String?, directory: String) throws -> ClusterAccess {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var access = ClusterAccess(
            server: "https://\(hostPart):\(port)", namespace: "default", contextName: "in-cluster",
            userName: "service account", caPEM: nil, insecureSkipTLSVerify: false, tlsServerName: nil,
            clientCertificatePEM: nil, clientKeyPEM: nil, credential: .tokenFile(directory + "/token"))
        access.caPEM = try access.read(directory + "/ca.crt", "service account CA")
        let podNamespace = FileManager.default.contents(atPath: directory + "/namespace")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        access.namespace = namespace ?? podNamespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return access
    }

    func read(_ path: String, _ what: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PluginError(.failedPrecondition, "cannot read the \(what) file \(path) of \(summary)", details: ["path": .string(path)])
        }
        return data
    }

    static func trimmedServer(_ server: String) -> String {
        var text = server
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
