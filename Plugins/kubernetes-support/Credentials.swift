import Foundation
import ScionPluginKit

/// What authenticates one request: a bearer token and/or a client
/// certificate (PEM, in memory only).
public struct RequestCredential: Sendable, Equatable {
    public var bearerToken: String?
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
}

/// Gives each request its credential: a static token, a token file read
/// again each time, or an exec credential plugin's answer cached until it
/// expires (and run again after a 401). One per client, shared by calls.
public final class CredentialProvider: @unchecked Sendable {
    public let access: ClusterAccess
    private let lock = NSLock()
    private var cached: (credential: RequestCredential, expiry: Date?)?
    /// How many times the exec plugin ran (for tests and debug logs).
    public private(set) var execRuns = 0
    let environment: [String: String]

    public init(access: ClusterAccess, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.access = access
        self.environment = environment
    }

    public func credential() throws -> RequestCredential {
        var base = RequestCredential(bearerToken: nil, clientCertificatePEM: access.clientCertificatePEM, clientKeyPEM: access.clientKeyPEM)
        switch access.credential {
        case .none:
            return base
        case .token(let token):
            base.bearerToken = token
            return base
        case .tokenFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PluginError(.failedPrecondition, "cannot read the token file \(path) of \(access.summary)")
            }
            base.bearerToken = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return base
        case .exec(let exec):
            lock.lock()
            defer { lock.unlock() }
            if let cached, cached.expiry.map({ $0.timeIntervalSinceNow > 10 }) ?? true { return cached.credential }
            let (credential, expiry) = try run(exec)
            execRuns += 1
            var merged = credential
            merged.clientCertificatePEM = credential.clientCertificatePEM ?? base.clientCertificatePEM
            merged.clientKeyPEM = credential.clientKeyPEM ?? base.clientKeyPEM
            cached = (merged, expiry)
            return merged
        }
    }

    /// After a 401: forget a cached exec credential. True when there was
    /// one, so the request is worth retrying with a fresh one.
    public func invalidate() -> Bool {
        guard case .exec = access.credential else { return false }
        lock.lock()
        defer { lock.unlock() }
        cached = nil
        return true
    }

    static let apiVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]

    /// Runs the exec credential plugin as kubectl does: its env added to
    /// ours, KUBERNETES_EXEC_INFO describing the request, stdout an
    /// ExecCredential.
    func run(_ exec: KubeConfig.ExecConfig) throws -> (RequestCredential, Date?) {
        let who = "the exec credential plugin \(exec.command) of user \(access.userName) (\(access.summary))"
        guard Self.apiVersions.contains(exec.apiVersion) else {
            throw PluginError(
                .failedPrecondition,
                "\(who) asks for apiVersion \"\(exec.apiVersion)\"; this client speaks \(Self.apiVersions.joined(separator: " and "))")
        }
        if exec.interactiveMode == "Always" {
            throw PluginError(.failedPrecondition, "\(who) needs an interactive terminal (interactiveMode: Always), which scion cannot give it")
        }
        var environment = self.environment
        for entry in exec.env { environment[entry.name] = entry.value }
        var spec: [String: Any] = ["interactive": false]
        if exec.provideClusterInfo {
            var cluster: [String: Any] = ["server": access.server, "insecure-skip-tls-verify": access.insecureSkipTLSVerify]
            if let ca = access.caPEM { cluster["certificate-authority-data"] = ca.base64EncodedString() }
            if let name = access.tlsServerName { cluster["tls-server-name"] = name }
            spec["cluster"] = cluster
        }
        let info: [String: Any] = ["apiVersion": exec.apiVersion, "kind": "ExecCredential", "spec": spec]
        environment["KUBERNETES_EXEC_INFO"] = String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)
        let output: Subprocess.Output
        do {
            output = try Subprocess.run([exec.command] + exec.args, environment: environment)
        } catch {
            let hint = exec.installHint.map { " (\($0.trimmingCharacters(in: .whitespacesAndNewlines)))" } ?? ""
            throw PluginError(.failedPrecondition, "cannot run \(who): \(error)\(hint)")
        }
        guard output.status == 0 else {
            let reason = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw PluginError(.permissionDenied, "\(who) failed with exit status \(output.status)\(reason.isEmpty ? "" : ": \(reason)")")
        }
        guard let object = try? JSONSerialization.jsonObject(with: output.stdout) as? [String: Any],
              let status = object["status"] as? [String: Any]
        else {
            throw PluginError(.failedPrecondition, "\(who) printed no ExecCredential with a status")
        }
        if let version = object["apiVersion"] as? String, version != exec.apiVersion {
            throw PluginError(.failedPrecondition, "\(who) answered apiVersion \(version), not the \(exec.apiVersion) it was asked for")
        }
        var credential = RequestCredential()
        credential.bearerToken = (status["token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        credential.clientCertificatePEM = (status["clientCertificateData"] as? String).map { Data($0.utf8) }
        credential.clientKeyPEM = (status["clientKeyData"] as? String).map { Data($0.utf8) }
        guard credential.bearerToken != nil || (credential.clientCertificatePEM != nil && credential.clientKeyPEM != nil) else {
            throw PluginError(.failedPrecondition, "\(who) answered neither a token nor a client certificate and key")
        }
        let expiry = (status["expirationTimestamp"] as? String).flatMap(Self.parseTime)
        return (credential, expiry)
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
