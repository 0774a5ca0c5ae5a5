import Foundation
import ScionPluginKit
import Yams

/// The parts of a kubeconfig file a client needs (clusters, users,
/// contexts, current-context), read the way kubectl reads them.
public struct KubeConfig: Sendable, Equatable {
    public struct Cluster: Sendable, Equatable {
        public var server: String
        public var certificateAuthority: String?
        public var certificateAuthorityData: Data?
        public var insecureSkipTLSVerify = false
        public var tlsServerName: String?
    }

    public struct ExecConfig: Sendable, Equatable {
        public var apiVersion: String
        public var command: String
        public var args: [String] = []
        public var env: [(name: String, value: String)] = []
        public var interactiveMode: String?
        public var provideClusterInfo = false
        public var installHint: String?

        public static func == (a: ExecConfig, b: ExecConfig) -> Bool {
            a.apiVersion == b.apiVersion && a.command == b.command && a.args == b.args
                && a.env.map(\.name) == b.env.map(\.name) && a.env.map(\.value) == b.env.map(\.value)
                && a.interactiveMode == b.interactiveMode && a.provideClusterInfo == b.provideClusterInfo
        }
    }

    public struct User: Sendable, Equatable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: Data?
        public var clientKey: String?
        public var clientKeyData: Data?
        public var exec: ExecConfig?
    }

    public struct Context: Sendable, Equatable {
        public var cluster: String
        public var user: String
        public var namespace: String?
    }

    public var clusters: [String: Cluster] = [:]
    public var users: [String: User] = [:]
    public var contexts: [String: Context] = [:]
    public var currentContext: String?
    /// The files read, in order (for error messages).
    public var files: [String] = []

    public init() {}

    /// The files named by `KUBECONFIG` (a colon-separated list; missing
    /// ones are skipped, as kubectl does), else `~/.kube/config`.
    public static func files(environment: [String: String]) -> [String] {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            return list.split(separator: ":").map(String.init).filter { !$0.isEmpty && seen.insert($0).inserted }
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return [home + "/.kube/config"]
    }

    /// Reads and merges `paths`: the first file to define a cluster, user or
    /// context by name wins, and the first non-empty current-context wins.
    /// A path that does not exist is skipped.
    public static func load(_ paths: [String]) throws -> KubeConfig {
        var merged = KubeConfig()
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let file = try parse(String(decoding: data, as: UTF8.self), path: path)
            merged.files.append(path)
            for (name, cluster) in file.clusters where merged.clusters[name] == nil { merged.clusters[name] = cluster }
            for (name, user) in file.users where merged.users[name] == nil { merged.users[name] = user }
            for (name, context) in file.contexts where merged.contexts[name] == nil { merged.contexts[name] = context }
            if merged.currentContext?.isEmpty ?? true, let current = file.currentContext, !current.isEmpty {
                merged.currentContext = current
            }
        }
        return merged
    }

    /// Parses one kubeconfig document; relative file paths in it are made
    /// absolute against the file's folder (as kubectl does).
    public static func parse(_ text: String, path: String) throws -> KubeConfig {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw PluginError(.invalidArgument, "kubeconfig \(path) is not valid YAML: \(error)")
        }
        var config = KubeConfig()
        guard let document = root as? [String: Any] else { return config }
        let folder = (path as NSString).deletingLastPathComponent
        func absolute(_ value: String?) -> String? {
            guard let value, !value.isEmpty else { return nil }
            if value.hasPrefix("/") { return value }
            if value.hasPrefix("~/") { return NSHomeDirectory() + value.dropFirst(1) }
            return folder.isEmpty ? value : folder + "/" + value
        }
        func data(_ value: Any?, _ field: String, _ name: String) throws -> Data? {
            guard let text = value as? String, !text.isEmpty else { return nil }
            guard let decoded = Data(base64Encoded: text.filter { !$0.isWhitespace }) else {
                throw PluginError(.invalidArgument, "kubeconfig \(path): \(field) of \(name) is not base64")
            }
            return decoded
        }
        func named(_ key: String, _ inner: String) -> [(String, [String: Any])] {
            (document[key] as? [Any] ?? []).compactMap { entry in
                guard let entry = entry as? [String: Any], let name = entry["name"] as? String else { return nil }
                return (name, entry[inner] as? [String: Any] ?? [:])
            }
        }
        for (name, fields) in named("clusters", "cluster") {
            var cluster = Cluster(server: fields["server"] as? String ?? "")
            cluster.certificateAuthority = absolute(fields["certificate-authority"] as? String)
            cluster.certificateAuthorityData = try data(fields["certificate-authority-data"], "certificate-authority-data", "cluster \(name)")
            cluster.insecureSkipTLSVerify = bool(fields["insecure-skip-tls-verify"])
            cluster.tlsServerName = (fields["tls-server-name"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            config.clusters[name] = cluster
        }
        for (name, fields) in named("users", "user") {
            var user = User()
            user.token = (fields["token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            user.tokenFile = absolute(fields["tokenFile"] as? String)
            user.clientCertificate = absolute(fields["client-certificate"] as? String)
            user.clientCertificateData = try data(fields["client-certificate-data"], "client-certificate-data", "user \(name)")
            user.clientKey = absolute(fields["client-key"] as? String)
            user.clientKeyData = try data(fields["client-key-data"], "client-key-data", "user \(name)")
            if let exec = fields["exec"] as? [String: Any] {
                guard let command = exec["command"] as? String, !command.isEmpty else {
                    throw PluginError(.invalidArgument, "kubeconfig \(path): user \(name) has an exec credential plugin without a command")
                }
                var plugin = ExecConfig(apiVersion: exec["apiVersion"] as? String ?? "", command: command)
                // A command with a slash but not absolute is relative to the kubeconfig's folder.
                if command.contains("/"), !command.hasPrefix("/") { plugin.command = absolute(command) ?? command }
                plugin.args = (exec["args"] as? [Any] ?? []).map { "\($0)" }
                plugin.env = (exec["env"] as? [Any] ?? []).compactMap { entry in
                    guard let entry = entry as? [String: Any], let name = entry["name"] as? String else { return nil }
                    return (name, entry["value"].map { "\($0)" } ?? "")
                }
                plugin.interactiveMode = exec["interactiveMode"] as? String
                plugin.provideClusterInfo = bool(exec["provideClusterInfo"])
                plugin.installHint = exec["installHint"] as? String
                user.exec = plugin
            }
            config.users[name] = user
        }
        for (name, fields) in named("contexts", "context") {
            config.contexts[name] = Context(
                cluster: fields["cluster"] as? String ?? "", user: fields["user"] as? String ?? "",
                namespace: (fields["namespace"] as? String).flatMap { $0.isEmpty ? nil : $0 })
        }
        config.currentContext = (document["current-context"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        config.files = [path]
        return config
    }

    static func bool(_ value: Any?) -> Bool {
        switch value {
        case let flag as Bool: return flag
        case let text as String: return ["true", "yes", "1"].contains(text.lowercased())
        default: return false
        }
    }
}
