import Foundation
import Synchronization

/// Faults the tests turn on through `POST /scion-test/faults` (admin only):
///   {"error": {"code": 429, "count": 2, "retryAfter": 1, "pathPrefix": "/api/v1/namespaces/default/pods"}}
///   {"latencyMs": 300}
///   {"dropWatches": true, "dropExecs": true}
///   {"compact": true}     (forget watch history: an old resourceVersion then gets 410 Gone)
///   {"reset": true}
///   {"injectSidecar": {"selector": {"scion.name": "web"}, "container": {"name": "istio-proxy", ...}}}
///       (a mutating admission, as Istio's injector: every new pod whose labels
///       match the selector gets the container appended; `{"injectSidecar": {}}` stops it)
final class Faults: Sendable {
    struct ErrorPlan: Sendable {
        var code: Int
        var remaining: Int
        var retryAfter: Int?
        var pathPrefix: String
    }

    private struct State: Sendable {
        var error: ErrorPlan?
        var latencyMs: Int = 0
        var execSessions: [UUID: @Sendable () -> Void] = [:]
        var sidecar: (selector: [String: JSON], container: JSON)?
    }

    private let state = Mutex(State())

    func configure(_ body: JSON) {
        state.withLock { s in
            if body["reset"]?.bool == true { s.error = nil; s.latencyMs = 0 }
            if let e = body["error"], let code = e["code"]?.int {
                s.error = ErrorPlan(code: Int(code), remaining: Int(e["count"]?.int ?? 1),
                                    retryAfter: e["retryAfter"]?.int.map(Int.init), pathPrefix: e["pathPrefix"]?.string ?? "/api")
            }
            if let latency = body["latencyMs"]?.int { s.latencyMs = Int(latency) }
            if let injection = body["injectSidecar"] {
                if let container = injection["container"], let selector = injection["selector"]?.object, !selector.isEmpty {
                    s.sidecar = (selector, container)
                } else {
                    s.sidecar = nil
                }
            }
            if body["reset"]?.bool == true { s.sidecar = nil }
        }
        if body["dropExecs"]?.bool == true {
            let sessions = state.withLock { s in
                defer { s.execSessions.removeAll() }
                return Array(s.execSessions.values)
            }
            for drop in sessions { drop() }
        }
    }

    var latencyMs: Int { state.withLock { $0.latencyMs } }

    /// The container to inject into a new pod with these labels, if any.
    func sidecar(forLabels labels: [String: JSON]) -> JSON? {
        state.withLock { s in
            guard let sidecar = s.sidecar, sidecar.selector.allSatisfy({ labels[$0.key] == $0.value }) else { return nil }
            return sidecar.container
        }
    }

    /// The injected failure for this request, if one is due.
    func injectedError(path: String) -> APIError? {
        state.withLock { s in
            guard var plan = s.error, path.hasPrefix(plan.pathPrefix) else { return nil }
            plan.remaining -= 1
            s.error = plan.remaining > 0 ? plan : nil
            let reason: String, message: String
            switch plan.code {
            case 429: reason = "TooManyRequests"; message = "the server has received too many requests and has asked us to try again later"
            case 503: reason = "ServiceUnavailable"; message = "the server is currently unable to handle the request"
            case 504: reason = "Timeout"; message = "the server was unable to return a response in the time allotted"
            default: reason = "InternalError"; message = "an error on the server (\"injected fault\") has prevented the request from succeeding"
            }
            return APIError(code: plan.code, reason: reason, message: message,
                            details: plan.retryAfter.map { ["retryAfterSeconds": .int(Int64($0))] }, retryAfter: plan.retryAfter)
        }
    }

    func registerExec(_ id: UUID, drop: @escaping @Sendable () -> Void) {
        state.withLock { $0.execSessions[id] = drop }
    }

    func unregisterExec(_ id: UUID) {
        _ = state.withLock { $0.execSessions.removeValue(forKey: id) }
    }
}
