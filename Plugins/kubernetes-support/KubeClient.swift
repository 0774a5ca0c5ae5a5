import Foundation
import ScionPluginKit

/// A Kubernetes API client for one context: REST over libcurl, exec and
/// attach over WebSocket (`KubeExec`). Safe to share between threads; its
/// credential cache lives as long as it does.
public final class KubeClient: Sendable {
    public let access: ClusterAccess
    public let credentials: CredentialProvider
    let http: KubeHTTP
    /// How long a request waits out 429/503 answers and a restarting server.
    public let retryBudgetSeconds: Double

    public init(access: ClusterAccess, environment: [String: String] = ProcessInfo.processInfo.environment,
                retryBudgetSeconds: Double = 30) {
        self.access = access
        self.credentials = CredentialProvider(access: access, environment: environment)
        self.http = KubeHTTP(access: access)
        self.retryBudgetSeconds = retryBudgetSeconds
    }

    public var namespace: String { access.namespace }

    /// One request with the usual care: credentials refreshed once after a
    /// 401, 429/503 waited out as Retry-After says, a server that does not
    /// answer retried for a while (it may be restarting). Error statuses
    /// are returned, not thrown; `require` turns them into errors.
    public func request(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", timeoutSeconds: Int = 60,
        onData: ((Data) -> Bool)? = nil, isCancelled: (() -> Bool)? = nil
    ) throws -> KubeResponse {
        let target = path + Self.queryString(query)
        let deadline = Date().addingTimeInterval(retryBudgetSeconds)
        var refreshed = false
        var attempt = 0
        while true {
            attempt += 1
            let response: KubeResponse
            do {
                response = try http.perform(
                    method, target, body: body, contentType: contentType, credential: credentials.credential(),
                    timeoutSeconds: timeoutSeconds, onData: onData, isCancelled: isCancelled)
            } catch let error as KubeHTTP.TransportError {
                if error.couldNotConnect, Date() < deadline, isCancelled?() != true {
                    Thread.sleep(forTimeInterval: min(2, 0.2 * Double(attempt)))
                    continue
                }
                throw PluginError(
                    .unavailable,
                    "cannot reach the Kubernetes API server of \(access.summary): \(error.reason); is the cluster up and the kubeconfig's server right?",
                    details: ["context": .string(access.contextName), "server": .string(access.server)])
            }
            if response.status == 401, !refreshed, credentials.invalidate() {
                refreshed = true
                continue
            }
            if [429, 503].contains(response.status) || (response.status == 500 && response.retryAfter != nil) {
                let wait = min(10, response.retryAfter ?? min(4, 0.25 * Double(attempt)))
                if Date().addingTimeInterval(wait) < deadline, isCancelled?() != true {
                    PluginLog.debug("kubernetes: \(method) \(path) answered \(response.status); retrying in \(wait) s")
                    Thread.sleep(forTimeInterval: wait)
                    continue
                }
            }
            return response
        }
    }

    /// A successful response's body, or the error in plain words.
    @discardableResult
    public func require(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", what: String, timeoutSeconds: Int = 60
    ) throws -> Data {
        let response = try request(method, path, query: query, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
        guard (200..<300).contains(response.status) else { throw error(response, doing: what) }
        return response.body
    }

    /// The error for an unsuccessful response, saying what was tried with
    /// which context, user and server, and what to do.
    public func error(_ response: KubeResponse, doing what: String) -> PluginError {
        let status = response.statusObject
        let message = status?.message.isEmpty == false ? status!.message : response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let details: [String: JSONValue] = [
            "context": .string(access.contextName), "user": .string(access.userName), "server": .string(access.server),
            "http_status": .number(Double(response.status)), "reason": .string(status?.reason ?? ""),
        ]
        switch response.status {
        case 401:
            return PluginError(
                .permissionDenied,
                "the cluster refused the credentials of user \(access.userName) to \(what) (\(access.summary)): \(message); log in again or fix the user in the kubeconfig",
                details: details)
        case 403 where message.contains("exceeded quota"):
            return PluginError(
                PluginError.Code(rawValue: "quota_exceeded"),
                "cannot \(what): namespace \(namespace) is over its resource quota (\(message)); lower the agent's resources or ask for a larger quota",
                details: details)
        case 403:
            return PluginError(
                .permissionDenied,
                "user \(access.userName) may not \(what) (\(access.summary)): \(message); ask the cluster's admin for a Role that grants it (see docs/runtimes/kubernetes.md)",
                details: details)
        case 404:
            return PluginError(.notFound, "cannot \(what): \(message.isEmpty ? "not found" : message) (\(access.summary))", details: details)
        case 409:
            return PluginError(.alreadyExists, "cannot \(what): \(message) (\(access.summary))", details: details)
        case 422, 400:
            return PluginError(.invalidArgument, "the cluster refused to \(what): \(message) (\(access.summary))", details: details)
        case 429, 503:
            return PluginError(.unavailable, "the API server is too busy to \(what) (\(access.summary)): \(message); try again shortly", details: details)
        default:
            return PluginError(.internal, "cannot \(what): HTTP \(response.status) \(message) (\(access.summary))", details: details)
        }
    }

    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?" + query.map { key, value in
            key + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }

    // MARK: Objects

    public func podPath(_ name: String = "") -> String {
        "/api/v1/namespaces/\(namespace)/pods" + (name.isEmpty ? "" : "/\(name)")
    }

    public func secretPath(_ name: String = "") -> String {
        "/api/v1/namespaces/\(namespace)/secrets" + (name.isEmpty ? "" : "/\(name)")
    }

    public func json(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PluginError(.internal, "the API server of \(access.summary) answered something that is not a JSON object")
        }
        return object
    }

    /// GET of one object; nil when it does not exist.
    public func get(_ path: String, what: String) throws -> [String: Any]? {
        let response = try request("GET", path)
        if response.status == 404 { return nil }
        guard (200..<300).contains(response.status) else { throw error(response, doing: what) }
        return try json(response.body)
    }

    /// DELETE of one object; a missing one is not an error.
    public func delete(_ path: String, what: String, gracePeriodSeconds: Int? = nil) throws {
        let query = gracePeriodSeconds.map { [("gracePeriodSeconds", String($0))] } ?? []
        let response = try request("DELETE", path, query: query)
        guard (200..<300).contains(response.status) || response.status == 404 else { throw error(response, doing: what) }
    }
}
