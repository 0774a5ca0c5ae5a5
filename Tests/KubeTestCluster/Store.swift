import Foundation

/// A Kubernetes `Status` failure: the code, reason and message a real API server gives.
struct APIError: Error, Sendable {
    let code: Int
    let reason: String
    let message: String
    var details: JSON? = nil
    var retryAfter: Int? = nil

    var status: JSON {
        var s: JSON = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { s["details"] = details }
        return s
    }

    static func notFound(_ resource: String, _ name: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "\(resource) \"\(name)\" not found",
                 details: ["name": .string(name), "kind": .string(resource)])
    }
    static func alreadyExists(_ resource: String, _ name: String) -> APIError {
        APIError(code: 409, reason: "AlreadyExists", message: "\(resource) \"\(name)\" already exists",
                 details: ["name": .string(name), "kind": .string(resource)])
    }
    static func badRequest(_ message: String) -> APIError { APIError(code: 400, reason: "BadRequest", message: message) }
    static func invalid(_ kind: String, _ name: String, _ message: String) -> APIError {
        APIError(code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(message)",
                 details: ["name": .string(name), "kind": .string(kind)])
    }
    static func gone(_ message: String) -> APIError { APIError(code: 410, reason: "Expired", message: message) }
}

/// One stored change, as a watch delivers it.
struct WatchEvent: Sendable {
    let revision: Int64
    let type: String
    let resource: String
    let namespace: String
    let object: JSON
}

/// A label or field selector: requirements that must all hold.
struct Selector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case notExists(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
    }

    let requirements: [Requirement]
    var isEmpty: Bool { requirements.isEmpty }

    static let everything = Selector(requirements: [])

    /// Parses `a=b,c!=d,e,!f,g in (x,y),h notin (z)` (label) or `metadata.name=x` (field).
    static func parse(_ text: String?) throws -> Selector {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .everything }
        var parts: [String] = []
        var depth = 0
        var current = ""
        for ch in text {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if ch == ",", depth == 0 { parts.append(current); current = "" } else { current.append(ch) }
        }
        parts.append(current)
        var requirements: [Requirement] = []
        for raw in parts {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if part.isEmpty { continue }
            if let r = part.range(of: " notin ") ?? part.range(of: " in ") {
                let key = part[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                let list = part[r.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: " ()"))
                let values = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                requirements.append(part.contains(" notin ") ? .notIn(key, values) : .isIn(key, values))
            } else if let r = part.range(of: "!=") {
                requirements.append(.notEquals(String(part[..<r.lowerBound]), String(part[r.upperBound...])))
            } else if let r = part.range(of: "==") ?? part.range(of: "=") {
                requirements.append(.equals(String(part[..<r.lowerBound]), String(part[r.upperBound...])))
            } else if part.hasPrefix("!") {
                requirements.append(.notExists(String(part.dropFirst())))
            } else if part.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) {
                requirements.append(.exists(part))
            } else {
                throw APIError.badRequest("unable to parse requirement: \(part)")
            }
        }
        return Selector(requirements: requirements)
    }

    func matches(_ lookup: (String) -> String?) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let k, let v): return (lookup(k) ?? "") == v
            case .notEquals(let k, let v): return (lookup(k) ?? "") != v
            case .exists(let k): return lookup(k) != nil
            case .notExists(let k): return lookup(k) == nil
            case .isIn(let k, let vs): return lookup(k).map(vs.contains) ?? false
            case .notIn(let k, let vs): return !(lookup(k).map(vs.contains) ?? false)
            }
        }
    }

    func matchesLabels(_ object: JSON) -> Bool {
        let labels = object.at("metadata.labels")?.stringMap ?? [:]
        return matches { labels[$0] }
    }

    func matchesFields(_ object: JSON) -> Bool {
        matches { path in
            guard let value = object.at(path) else { return path == "metadata.namespace" ? "" : nil }
            switch value {
            case .string(let s): return s
            case .int(let i): return String(i)
            case .bool(let b): return String(b)
            default: return nil
            }
        }
    }
}

/// The cluster's objects, their resource versions and the change history watches read.
actor Store {
    /// Kinds served, by resource name: kind, namespaced.
    static let kinds: [String: (kind: String, namespaced: Bool)] = [
        "namespaces": ("Namespace", false),
        "pods": ("Pod", true),
        "secrets": ("Secret", true),
        "configmaps": ("ConfigMap", true),
        "events": ("Event", true),
        "serviceaccounts": ("ServiceAccount", true),
        "resourcequotas": ("ResourceQuota", true),
        "nodes": ("Node", false),
    ]

    private var objects: [String: [String: JSON]] = [:]
    private(set) var revision: Int64 = 1
    private var history: [WatchEvent] = []
    private let historyLimit = 5000
    /// The oldest revision a watch may start from (older ones get 410 Gone).
    private var oldestRevision: Int64 = 1
    private var watchers: [UUID: (filter: @Sendable (WatchEvent) -> Bool, continuation: AsyncStream<WatchEvent>.Continuation)] = [:]
    private var listeners: [@Sendable (WatchEvent) -> Void] = []
    private var persistPath: String?
    private var persistScheduled = false

    init(persistPath: String?) {
        self.persistPath = persistPath
        if let persistPath, let data = FileManager.default.contents(atPath: persistPath), let state = try? JSON.parse(data) {
            revision = state["revision"]?.int ?? 1
            oldestRevision = revision
            for (resource, items) in state["objects"]?.object ?? [:] {
                var map: [String: JSON] = [:]
                for item in items.array ?? [] {
                    map[Store.key(item.at("metadata.namespace")?.string ?? "", item.at("metadata.name")?.string ?? "")] = item
                }
                objects[resource] = map
            }
        }
    }

    static func key(_ namespace: String, _ name: String) -> String { namespace + "/" + name }

    /// Called for every change (the kubelet reacts to pods).
    func addListener(_ listener: @escaping @Sendable (WatchEvent) -> Void) { listeners.append(listener) }

    func get(_ resource: String, _ namespace: String, _ name: String) -> JSON? {
        objects[resource]?[Store.key(namespace, name)]
    }

    func list(_ resource: String, namespace: String?, labels: Selector = .everything, fields: Selector = .everything) -> (items: [JSON], revision: Int64) {
        let all = objects[resource] ?? [:]
        var items: [JSON] = []
        for (key, object) in all {
            if let namespace, !key.hasPrefix(namespace + "/") { continue }
            if !labels.isEmpty, !labels.matchesLabels(object) { continue }
            if !fields.isEmpty, !fields.matchesFields(object) { continue }
            items.append(object)
        }
        items.sort { ($0.at("metadata.namespace")?.string ?? "", $0.at("metadata.name")?.string ?? "") < ($1.at("metadata.namespace")?.string ?? "", $1.at("metadata.name")?.string ?? "") }
        return (items, revision)
    }

    func count(_ resource: String, namespace: String) -> Int {
        (objects[resource] ?? [:]).keys.filter { $0.hasPrefix(namespace + "/") }.count
    }

    func create(_ resource: String, _ namespace: String, _ input: JSON) throws(APIError) -> JSON {
        var object = input
        guard let kindInfo = Store.kinds[resource] else { throw APIError.notFound(resource, "") }
        var name = object.at("metadata.name")?.string ?? ""
        if name.isEmpty, let prefix = object.at("metadata.generateName")?.string, !prefix.isEmpty {
            name = prefix + Store.randomSuffix()
            object.set("metadata.name", .string(name))
        }
        guard !name.isEmpty else {
            throw APIError.invalid(kindInfo.kind, "", "metadata.name: Required value: name or generateName is required")
        }
        guard Store.isDNSName(name) else {
            throw APIError.invalid(kindInfo.kind, name, "metadata.name: Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
        }
        if kindInfo.namespaced {
            guard objects["namespaces"]?[Store.key("", namespace)] != nil else {
                throw APIError(code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
                               details: ["name": .string(namespace), "kind": "namespaces"])
            }
            if objects["namespaces"]?[Store.key("", namespace)]?.at("status.phase")?.string == "Terminating" {
                throw APIError(code: 403, reason: "Forbidden", message: "\(resource) \"\(name)\" is forbidden: unable to create new content in namespace \(namespace) because it is being terminated")
            }
        }
        let key = Store.key(kindInfo.namespaced ? namespace : "", name)
        if objects[resource]?[key] != nil { throw APIError.alreadyExists(resource, name) }
        revision += 1
        object["kind"] = .string(kindInfo.kind)
        object["apiVersion"] = "v1"
        object.set("metadata.namespace", kindInfo.namespaced ? .string(namespace) : nil)
        object.set("metadata.uid", .string(UUID().uuidString.lowercased()))
        object.set("metadata.resourceVersion", .string(String(revision)))
        object.set("metadata.creationTimestamp", .string(kubeTime()))
        object.set("metadata.generateName", object.at("metadata.generateName"))
        if object.at("metadata.managedFields") != nil { object.set("metadata.managedFields", nil) }
        objects[resource, default: [:]][key] = object
        record(WatchEvent(revision: revision, type: "ADDED", resource: resource, namespace: namespace, object: object))
        return object
    }

    /// Changes a stored object in place (status updates by the kubelet, metadata by PATCH).
    @discardableResult
    func update(_ resource: String, _ namespace: String, _ name: String, _ change: (inout JSON) throws -> Void) rethrows -> JSON? {
        let key = Store.key(namespace, name)
        guard var object = objects[resource]?[key] else { return nil }
        let before = object
        try change(&object)
        if object == before { return object }
        revision += 1
        object.set("metadata.resourceVersion", .string(String(revision)))
        objects[resource]![key] = object
        record(WatchEvent(revision: revision, type: "MODIFIED", resource: resource, namespace: namespace, object: object))
        return object
    }

    /// PUT: a whole new object, refused on a stale resourceVersion.
    func replace(_ resource: String, _ namespace: String, _ name: String, _ input: JSON) throws(APIError) -> JSON {
        guard let current = get(resource, namespace, name) else { throw APIError.notFound(resource, name) }
        if let rv = input.at("metadata.resourceVersion")?.string, !rv.isEmpty, rv != current.at("metadata.resourceVersion")?.string {
            throw APIError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(resource) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
                           details: ["name": .string(name), "kind": .string(resource)])
        }
        var object = input
        for key in ["uid", "creationTimestamp", "namespace", "name", "deletionTimestamp"] {
            object.set("metadata." + key, current.at("metadata." + key))
        }
        object["kind"] = current["kind"]
        object["apiVersion"] = "v1"
        if resource == "pods" { object["status"] = current["status"] }
        return update(resource, namespace, name) { $0 = object }!
    }

    @discardableResult
    func delete(_ resource: String, _ namespace: String, _ name: String) -> JSON? {
        let key = Store.key(namespace, name)
        guard var object = objects[resource]?.removeValue(forKey: key) else { return nil }
        revision += 1
        object.set("metadata.resourceVersion", .string(String(revision)))
        record(WatchEvent(revision: revision, type: "DELETED", resource: resource, namespace: namespace, object: object))
        return object
    }

    /// Events after `since` that pass the filter, then the live ones; 410 Gone when
    /// `since` is older than the history kept.
    func watch(since: Int64?, filter: @escaping @Sendable (WatchEvent) -> Bool) throws(APIError) -> (id: UUID, stream: AsyncStream<WatchEvent>) {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream(bufferingPolicy: .unbounded)
        if let since, since > 0 {
            if since < oldestRevision - 1 {
                throw APIError.gone("too old resource version: \(since) (\(oldestRevision))")
            }
            for event in history where event.revision > since && filter(event) { continuation.yield(event) }
        }
        let id = UUID()
        watchers[id] = (filter, continuation)
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.removeWatcher(id) }
        }
        return (id, stream)
    }

    func removeWatcher(_ id: UUID) { watchers.removeValue(forKey: id) }

    /// Ends every watch (the "drop connections" fault).
    func dropWatches() {
        for (_, watcher) in watchers { watcher.continuation.finish() }
        watchers.removeAll()
    }

    /// Forgets history older than the current revision (to provoke 410 Gone in tests).
    func compact() {
        history.removeAll()
        oldestRevision = revision + 1
    }

    var watcherCount: Int { watchers.count }

    private func record(_ event: WatchEvent) {
        history.append(event)
        if history.count > historyLimit {
            history.removeFirst(history.count - historyLimit)
            oldestRevision = history.first?.revision ?? revision
        }
        for (_, watcher) in watchers where watcher.filter(event) { watcher.continuation.yield(event) }
        for listener in listeners { listener(event) }
        schedulePersist()
    }

    private func schedulePersist() {
        guard persistPath != nil, !persistScheduled else { return }
        persistScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            self.persist()
        }
    }

    func persist() {
        persistScheduled = false
        guard let persistPath else { return }
        var byResource: [String: JSON] = [:]
        for (resource, map) in objects { byResource[resource] = .array(Array(map.values)) }
        let state: JSON = ["revision": .int(revision), "objects": .object(byResource)]
        let tmp = persistPath + ".tmp"
        FileManager.default.createFile(atPath: tmp, contents: state.serialized(), attributes: [.posixPermissions: 0o600])
        _ = rename(tmp, persistPath)
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement()! })
    }

    static func isDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 253 else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard name.allSatisfy(allowed.contains) else { return false }
        return name.first!.isLetter || name.first!.isNumber ? (name.last!.isLetter || name.last!.isNumber) : false
    }
}
