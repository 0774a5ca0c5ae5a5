import Foundation
import Hummingbird
import NIOCore

/// A parsed request target: the path's segments and the query's items (repeatable).
struct Target: Sendable {
    let path: String
    let segments: [String]
    let query: [(String, String)]

    init(_ raw: String) {
        let parts = raw.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        segments = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        var items: [(String, String)] = []
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
                items.append((decode(kv[0]), kv.count > 1 ? decode(kv[1]) : ""))
            }
        }
        query = items
    }

    func value(_ name: String) -> String? { query.last { $0.0 == name }?.1 }
    func values(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }
    func flag(_ name: String) -> Bool { ["true", "1"].contains(value(name)?.lowercased() ?? "") }
}

/// What a request addresses: `/api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]`.
struct ResourcePath: Sendable {
    var namespace: String?
    var resource: String
    var name: String?
    var subresource: String?

    init(namespace: String?, resource: String, name: String?, subresource: String?) {
        self.namespace = namespace
        self.resource = resource
        self.name = name
        self.subresource = subresource
    }

    init?(_ segments: [String]) {
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1" else { return nil }
        var rest = Array(segments.dropFirst(2))
        if rest.count >= 3, rest[0] == "namespaces" {
            namespace = rest[1]
            rest.removeFirst(2)
        }
        resource = rest[0]
        name = rest.count > 1 ? rest[1] : nil
        subresource = rest.count > 2 ? rest[2] : nil
        if rest.count > 3 { return nil }
        if namespace == nil, resource == "namespaces", let name, subresource == nil { _ = name }
    }
}

/// The API server: discovery, CRUD, watch, logs; exec is in Exec.swift.
final class Cluster: Sendable {
    let store: Store
    let kubelet: Kubelet
    let authenticator: Authenticator
    let faults = Faults()
    let version: JSON = [
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-scion-test", "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64",
    ]

    init(store: Store, kubelet: Kubelet, authenticator: Authenticator) {
        self.store = store
        self.kubelet = kubelet
        self.authenticator = authenticator
    }

    // MARK: responses

    static func json(_ code: Int, _ body: JSON, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let data = body.serialized()
        return Response(status: .init(code: code), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func failure(_ error: APIError) -> Response {
        var headers: HTTPFields = [:]
        if let retry = error.retryAfter { headers[.retryAfter] = String(retry) }
        return json(error.code, error.status, headers: headers)
    }

    static func success(_ details: JSON? = nil) -> JSON {
        var s: JSON = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success"]
        if let details { s["details"] = details }
        return s
    }

    // MARK: entry

    func respond(_ request: Request, user: User?) async -> Response {
        let target = Target(request.uri.string)
        if faults.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(faults.latencyMs)) }
        switch target.path {
        case "/healthz", "/readyz", "/livez":
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        default: break
        }
        guard let user else {
            return Cluster.failure(APIError(code: 401, reason: "Unauthorized", message: "Unauthorized"))
        }
        if let injected = faults.injectedError(path: target.path) { return Cluster.failure(injected) }
        do {
            return try await route(request, target, user)
        } catch let error as APIError {
            return Cluster.failure(error)
        } catch {
            return Cluster.failure(APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(error)"))
        }
    }

    private func route(_ request: Request, _ target: Target, _ user: User) async throws -> Response {
        let method = request.method
        switch target.path {
        case "/version", "/version/": return Cluster.json(200, version)
        case "/api", "/api/":
            return Cluster.json(200, ["kind": "APIVersions", "versions": ["v1"],
                                      "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"]]])
        case "/apis", "/apis/": return Cluster.json(200, ["kind": "APIGroupList", "apiVersion": "v1", "groups": []])
        case "/api/v1", "/api/v1/": return Cluster.json(200, Cluster.resourceList)
        case "/scion-test/faults":
            guard user.groups.contains("system:masters") else { throw forbidden(user, "update", "faults", nil) }
            let body = try await readBody(request)
            faults.configure(body)
            if body["dropWatches"]?.bool == true { await store.dropWatches() }
            if body["compact"]?.bool == true { await store.compact() }
            return Cluster.json(200, Cluster.success())
        default: break
        }
        guard var path = ResourcePath(target.segments), Store.kinds[path.resource] != nil || path.namespace != nil else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        // /api/v1/namespaces/{name} parses as namespace-scoped with no resource; fix it up.
        if path.namespace != nil, target.segments.count == 4, target.segments[2] == "namespaces" {
            path = ResourcePath(namespace: nil, resource: "namespaces", name: target.segments[3], subresource: nil)
        } else if path.namespace != nil, target.segments.count == 5, target.segments[2] == "namespaces", ["status", "finalize"].contains(target.segments[4]) {
            path = ResourcePath(namespace: nil, resource: "namespaces", name: target.segments[3], subresource: target.segments[4])
        }
        guard let info = Store.kinds[path.resource] else {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if info.namespaced != (path.namespace != nil), !(info.namespaced && path.name == nil && method == .get) {
            throw APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let ns = path.namespace ?? ""
        let wantsTable = request.headers[.accept]?.contains("as=Table") == true
        switch (method, path.name, path.subresource) {
        case (.get, nil, nil):
            let verb = target.flag("watch") ? "watch" : "list"
            guard user.may(verb, path.resource) else { throw forbidden(user, verb, path.resource, path.namespace) }
            let labels = try Selector.parse(target.value("labelSelector"))
            let fields = try Selector.parse(target.value("fieldSelector"))
            if target.flag("watch") {
                return try await watch(path, labels: labels, fields: fields, target: target, table: wantsTable)
            }
            if wantsTable {
                let (items, revision) = await store.list(path.resource, namespace: path.namespace, labels: labels, fields: fields)
                return Cluster.json(200, Tables.table(path.resource, items, revision: revision, includeObject: target.value("includeObject")))
            }
            let (items, revision) = await store.listEncoded(path.resource, namespace: path.namespace, labels: labels, fields: fields)
            var body = ByteBuffer()
            body.writeString("{\"apiVersion\":\"v1\",\"kind\":\"\(info.kind)List\",\"metadata\":{\"resourceVersion\":\"\(revision)\"},\"items\":[")
            for (i, item) in items.enumerated() {
                if i > 0 { body.writeString(",") }
                body.writeBytes(item)
            }
            body.writeString("]}")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
        case (.get, let name?, nil):
            guard user.may("get", path.resource) else { throw forbidden(user, "get", path.resource, path.namespace) }
            guard let object = await store.get(path.resource, ns, name) else { throw APIError.notFound(path.resource, name) }
            if wantsTable { return Cluster.json(200, Tables.table(path.resource, [object], revision: await store.revision, includeObject: target.value("includeObject"))) }
            return Cluster.json(200, object)
        case (.get, let name?, "status"):
            guard user.may("get", path.resource + "/status") else { throw forbidden(user, "get", path.resource + "/status", path.namespace) }
            guard let object = await store.get(path.resource, ns, name) else { throw APIError.notFound(path.resource, name) }
            return Cluster.json(200, object)
        case (.get, let name?, "log") where path.resource == "pods":
            guard user.may("get", "pods/log") else { throw forbidden(user, "get", "pods/log", path.namespace) }
            return try await logs(ns, name, target)
        case (_, let name?, "exec"), (_, let name?, "attach"):
            let sub = path.subresource!
            guard user.may("create", "pods/" + sub), user.may("get", "pods/" + sub) else { throw forbidden(user, "create", "pods/" + sub, path.namespace) }
            _ = try await execTarget(ns, name, target)
            throw APIError(code: 400, reason: "BadRequest", message: "Upgrade request required")
        case (.post, nil, nil):
            guard user.may("create", path.resource) else { throw forbidden(user, "create", path.resource, path.namespace, name: nil) }
            let body = try await readBody(request)
            if let bodyNS = body.at("metadata.namespace")?.string, info.namespaced, bodyNS != ns {
                throw APIError(code: 400, reason: "BadRequest", message: "the namespace of the provided object does not match the namespace sent on the request")
            }
            let created = try await create(path.resource, ns, body, dryRun: target.value("dryRun") == "All")
            return Cluster.json(201, created)
        case (.put, let name?, let sub):
            let resource = path.resource + (sub.map { "/" + $0 } ?? "")
            guard user.may("update", resource) else { throw forbidden(user, "update", resource, path.namespace) }
            var body = try await readBody(request)
            if sub == "status" {
                guard let current = await store.get(path.resource, ns, name) else { throw APIError.notFound(path.resource, name) }
                var object = current
                object["status"] = body["status"]
                body = object
                return Cluster.json(200, try await store.update(path.resource, ns, name) { $0 = body }!)
            }
            return Cluster.json(200, try await store.replace(path.resource, ns, name, body))
        case (.patch, let name?, let sub):
            let resource = path.resource + (sub.map { "/" + $0 } ?? "")
            guard user.may("patch", resource) else { throw forbidden(user, "patch", resource, path.namespace) }
            let patch = try await readBody(request)
            let type = request.headers[.contentType] ?? ""
            guard await store.get(path.resource, ns, name) != nil else { throw APIError.notFound(path.resource, name) }
            let updated = try await store.update(path.resource, ns, name) { object in
                if type.contains("json-patch") { try Patches.applyJSONPatch(&object, patch) } else { Patches.merge(&object, patch) }
                object.set("metadata.name", .string(name))
            }
            return Cluster.json(200, updated!)
        case (.delete, let name?, nil):
            guard user.may("delete", path.resource) else { throw forbidden(user, "delete", path.resource, path.namespace) }
            let options = (try? await readBody(request)) ?? [:]
            return try await delete(path.resource, ns, name, target: target, options: options)
        case (.delete, nil, nil):
            guard user.may("deletecollection", path.resource) else { throw forbidden(user, "deletecollection", path.resource, path.namespace) }
            let labels = try Selector.parse(target.value("labelSelector"))
            let fields = try Selector.parse(target.value("fieldSelector"))
            let (items, revision) = await store.list(path.resource, namespace: path.namespace, labels: labels, fields: fields)
            for item in items {
                _ = try? await delete(path.resource, item.at("metadata.namespace")?.string ?? "", item.at("metadata.name")?.string ?? "", target: target, options: [:])
            }
            return Cluster.json(200, ["kind": .string(info.kind + "List"), "apiVersion": "v1",
                                      "metadata": ["resourceVersion": .string(String(revision))], "items": .array(items)])
        default:
            throw APIError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
        }
    }

    func forbidden(_ user: User, _ verb: String, _ resource: String, _ namespace: String?, name: String? = nil) -> APIError {
        let parts = resource.split(separator: "/")
        let main = String(parts[0])
        let sub = parts.count > 1 ? " subresource \"\(parts[1])\"" : ""
        let scope = namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        return APIError(code: 403, reason: "Forbidden",
                        message: "\(main)\(name.map { " \"\($0)\"" } ?? "") is forbidden: User \"\(user.name)\" cannot \(verb) resource \"\(main)\"\(sub) in API group \"\"\(scope)",
                        details: ["kind": .string(main)])
    }

    private func readBody(_ request: Request) async throws -> JSON {
        let buffer = try await request.body.collect(upTo: 16 << 20)
        if buffer.readableBytes == 0 { return [:] }
        if let type = request.headers[.contentType], type.hasPrefix(Protobuf.mediaType) {
            do {
                return try Protobuf.decodeEnvelope(Array(buffer.readableBytesView))
            } catch let error as Protobuf.Failure {
                throw APIError(code: 415, reason: "UnsupportedMediaType",
                               message: "the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, \(Protobuf.mediaType) (\(error.message))")
            }
        }
        do {
            return try JSON.parse(Data(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format - accepted media types include: application/json")
        }
    }

    // MARK: create / delete

    func create(_ resource: String, _ ns: String, _ input: JSON, dryRun: Bool = false) async throws -> JSON {
        var object = input
        switch resource {
        case "pods":
            if let sidecar = faults.sidecar(forLabels: object.at("metadata.labels")?.object ?? [:]) {
                object.set("spec.containers", .array((object.at("spec.containers")?.array ?? []) + [sidecar]))
            }
            try Pods.validateAndDefault(&object)
            try await Quotas.admit(store: store, namespace: ns, pod: object)
        case "namespaces":
            object.set("spec.finalizers", ["kubernetes"])
            object.set("status.phase", "Active")
            var labels = object.at("metadata.labels")?.object ?? [:]
            labels["kubernetes.io/metadata.name"] = object.at("metadata.name")
            object.set("metadata.labels", .object(labels))
        case "secrets":
            if object["type"] == nil { object["type"] = "Opaque" }
            if let stringData = object["stringData"]?.object {
                var data = object["data"]?.object ?? [:]
                for (k, v) in stringData { data[k] = .string(Data((v.string ?? "").utf8).base64EncodedString()) }
                object["data"] = .object(data)
                object["stringData"] = nil
            }
            try await Quotas.admitCount(store: store, namespace: ns, resource: "secrets", name: object.at("metadata.name")?.string ?? "")
        case "configmaps":
            try await Quotas.admitCount(store: store, namespace: ns, resource: "configmaps", name: object.at("metadata.name")?.string ?? "")
        default: break
        }
        if dryRun { return object }
        let created = try await store.create(resource, ns, object)
        if resource == "namespaces", let name = created.at("metadata.name")?.string {
            _ = try? await store.create("serviceaccounts", name, ["metadata": ["name": "default"]])
        }
        return created
    }

    func delete(_ resource: String, _ ns: String, _ name: String, target: Target, options: JSON) async throws -> Response {
        guard let object = await store.get(resource, ns, name) else { throw APIError.notFound(resource, name) }
        switch resource {
        case "pods":
            if object.at("metadata.deletionTimestamp") != nil { return Cluster.json(200, object) }
            let grace = target.value("gracePeriodSeconds").flatMap { Int64($0) } ?? options["gracePeriodSeconds"]?.int
                ?? object.at("spec.terminationGracePeriodSeconds")?.int ?? 30
            let scheduled = object.at("spec.nodeName") != nil
            if !scheduled || grace == 0 {
                // Force delete (or never scheduled): the object goes now; the containers after.
                let marked = await store.update(resource, ns, name) { p in
                    p.set("metadata.deletionTimestamp", .string(kubeTime()))
                    p.set("metadata.deletionGracePeriodSeconds", .int(0))
                } ?? object
                await store.delete(resource, ns, name)
                Task { await kubelet.terminate(marked, grace: 0) }
                return Cluster.json(200, marked)
            }
            let marked = await store.update(resource, ns, name) { p in
                p.set("metadata.deletionTimestamp", .string(kubeTime(Date().addingTimeInterval(Double(grace)))))
                p.set("metadata.deletionGracePeriodSeconds", .int(grace))
            } ?? object
            Task { await kubelet.terminate(marked, grace: grace) }
            return Cluster.json(200, marked)
        case "namespaces":
            if ["default", "kube-system", "kube-public", "kube-node-lease"].contains(name) {
                throw APIError(code: 403, reason: "Forbidden", message: "namespaces \"\(name)\" is forbidden: this namespace may not be deleted")
            }
            let marked = await store.update(resource, "", name) { n in
                n.set("metadata.deletionTimestamp", .string(kubeTime()))
                n.set("status.phase", "Terminating")
            } ?? object
            Task {
                await withTaskGroup(of: Void.self) { group in
                    for pod in await store.list("pods", namespace: name).items {
                        group.addTask { await self.kubelet.terminate(pod, grace: 1) }
                    }
                }
                for kind in Store.kinds.keys where kind != "namespaces" {
                    for item in await store.list(kind, namespace: name).items {
                        await store.delete(kind, name, item.at("metadata.name")?.string ?? "")
                    }
                }
                await store.delete("namespaces", "", name)
            }
            return Cluster.json(200, marked)
        default:
            let deleted = await store.delete(resource, ns, name)
            return Cluster.json(200, Cluster.success(["name": .string(name), "kind": .string(resource), "uid": deleted?.at("metadata.uid") ?? ""]))
        }
    }

    // MARK: watch

    private func watch(_ path: ResourcePath, labels: Selector, fields: Selector, target: Target, table: Bool) async throws -> Response {
        let since: Int64?
        if let rv = target.value("resourceVersion"), !rv.isEmpty, rv != "0" {
            guard let value = Int64(rv) else { throw APIError.badRequest("invalid resource version \"\(rv)\"") }
            since = value
        } else {
            since = nil
        }
        let resource = path.resource, namespace = path.namespace
        let filter: @Sendable (WatchEvent) -> Bool = { event in
            event.resource == resource && (namespace == nil || event.namespace == namespace)
                && labels.matchesLabels(event.object) && fields.matchesFields(event.object)
        }
        let initial: [JSON] = since == nil ? await store.list(resource, namespace: namespace, labels: labels, fields: fields).items : []
        let stream: AsyncStream<WatchEvent>
        let current = await store.revision
        do {
            stream = try await store.watch(since: since ?? current, filter: filter).stream
        } catch {
            // Too old: a real server answers the watch with an ERROR event carrying 410.
            let event: JSON = ["type": "ERROR", "object": error.status]
            var data = event.serialized()
            data.append(0x0A)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        let timeout = target.value("timeoutSeconds").flatMap(Double.init) ?? 1800
        let includeObject = target.value("includeObject")
        let store = self.store
        let body = ResponseBody { writer in
            func line(_ type: String, _ object: JSON, _ revision: Int64) -> ByteBuffer {
                let obj = table ? Tables.table(resource, [object], revision: revision, includeObject: includeObject) : object
                var data = JSON.object(["type": .string(type), "object": obj]).serialized()
                data.append(0x0A)
                return ByteBuffer(bytes: data)
            }
            let revision = await store.revision
            for object in initial { try await writer.write(line("ADDED", object, revision)) }
            let (merged, sink) = AsyncStream<WatchEvent>.makeStream()
            let forward = Task {
                for await event in stream { sink.yield(event) }
                sink.finish()
            }
            let timer = Task {
                try? await Task.sleep(for: .seconds(timeout))
                sink.finish()
            }
            defer { forward.cancel(); timer.cancel() }
            for await event in merged {
                try await writer.write(line(event.type, event.object, event.revision))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .transferEncoding: "chunked"], body: body)
    }

    // MARK: logs

    func container(of pod: JSON, _ requested: String?) throws -> String {
        let names = (pod.at("spec.containers")?.array ?? []).compactMap { $0["name"]?.string }
        let podName = pod.at("metadata.name")?.string ?? ""
        if let requested, !requested.isEmpty {
            guard names.contains(requested) else {
                throw APIError.badRequest("container \(requested) is not valid for pod \(podName)")
            }
            return requested
        }
        if let preferred = pod.at("metadata.annotations")?["kubectl.kubernetes.io/default-container"]?.string, names.contains(preferred) {
            return preferred
        }
        guard names.count == 1 else {
            throw APIError.badRequest("a container name must be specified for pod \(podName), choose one of: [\(names.joined(separator: " "))]")
        }
        return names[0]
    }

    private func containerStarted(_ pod: JSON, _ container: String) throws {
        let status = (pod.at("status.containerStatuses")?.array ?? []).first { $0["name"]?.string == container }
        if status?.at("state.running") != nil || status?.at("state.terminated") != nil || status?.at("lastState.terminated") != nil { return }
        let reason = status?.at("state.waiting.reason")?.string ?? "ContainerCreating"
        let podName = pod.at("metadata.name")?.string ?? ""
        throw APIError.badRequest("container \"\(container)\" in pod \"\(podName)\" is waiting to start: \(reason)")
    }

    private func logs(_ ns: String, _ name: String, _ target: Target) async throws -> Response {
        guard let pod = await store.get("pods", ns, name) else { throw APIError.notFound("pods", name) }
        let container = try container(of: pod, target.value("container"))
        try containerStarted(pod, container)
        var argv = ["docker", "logs"]
        if let tail = target.value("tailLines") { argv += ["--tail", tail] }
        if target.flag("follow") { argv.append("--follow") }
        if target.flag("timestamps") { argv.append("--timestamps") }
        if let since = target.value("sinceSeconds") { argv += ["--since", since + "s"] }
        if let since = target.value("sinceTime") { argv += ["--since", since] }
        argv.append(kubelet.dockerName(pod, container))
        let limit = target.value("limitBytes").flatMap(Int.init)
        let out = try Subprocess.pipe()
        let pid: pid_t
        do {
            pid = try Subprocess.spawn(argv, stdio: .descriptors(stdin: out.write, stdout: out.write, stderr: out.write))
        } catch {
            close(out.read); close(out.write)
            throw error
        }
        close(out.write)
        let chunks = Subprocess.chunks(of: out.read)
        let body = ResponseBody { writer in
            var sent = 0
            do {
                for await chunk in chunks {
                    var bytes = chunk
                    if let limit { bytes = Array(bytes.prefix(max(0, limit - sent))) }
                    sent += bytes.count
                    if !bytes.isEmpty { try await writer.write(ByteBuffer(bytes: bytes)) }
                    if let limit, sent >= limit { break }
                }
            } catch {
                kill(pid, SIGTERM)
                _ = await Subprocess.wait(pid)
                throw error
            }
            kill(pid, SIGTERM)
            _ = await Subprocess.wait(pid)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: body)
    }

    // MARK: discovery

    static let resourceList: JSON = {
        func entry(_ name: String, _ kind: String, _ namespaced: Bool, _ verbs: [String], short: [String] = []) -> JSON {
            var e: JSON = ["name": .string(name), "singularName": .string(kind.lowercased()), "namespaced": .bool(namespaced),
                           "kind": .string(kind), "verbs": .array(verbs.map { .string($0) })]
            if !short.isEmpty { e["shortNames"] = .array(short.map { .string($0) }) }
            return e
        }
        let all = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        return [
            "kind": "APIResourceList", "groupVersion": "v1",
            "resources": [
                entry("namespaces", "Namespace", false, ["create", "delete", "get", "list", "patch", "update", "watch"], short: ["ns"]),
                entry("namespaces/status", "Namespace", false, ["get", "patch", "update"]),
                entry("nodes", "Node", false, all, short: ["no"]),
                entry("pods", "Pod", true, all, short: ["po"]),
                entry("pods/attach", "PodAttachOptions", true, ["create", "get"]),
                entry("pods/exec", "PodExecOptions", true, ["create", "get"]),
                entry("pods/log", "Pod", true, ["get"]),
                entry("pods/status", "Pod", true, ["get", "patch", "update"]),
                entry("secrets", "Secret", true, all),
                entry("configmaps", "ConfigMap", true, all, short: ["cm"]),
                entry("events", "Event", true, all, short: ["ev"]),
                entry("serviceaccounts", "ServiceAccount", true, all, short: ["sa"]),
                entry("resourcequotas", "ResourceQuota", true, all, short: ["quota"]),
            ],
        ]
    }()
}

/// Pod validation and the defaults a real API server fills in.
enum Pods {
    static func validateAndDefault(_ pod: inout JSON) throws {
        let name = pod.at("metadata.name")?.string ?? pod.at("metadata.generateName")?.string ?? ""
        guard var containers = pod.at("spec.containers")?.array, !containers.isEmpty else {
            throw APIError.invalid("Pod", name, "spec.containers: Required value")
        }
        var seen = Set<String>()
        for i in containers.indices {
            guard let cname = containers[i]["name"]?.string, !cname.isEmpty else {
                throw APIError.invalid("Pod", name, "spec.containers[\(i)].name: Required value")
            }
            guard seen.insert(cname).inserted else {
                throw APIError.invalid("Pod", name, "spec.containers[\(i)].name: Duplicate value: \"\(cname)\"")
            }
            guard let image = containers[i]["image"]?.string, !image.isEmpty else {
                throw APIError.invalid("Pod", name, "spec.containers[\(i)].image: Required value")
            }
            if containers[i]["imagePullPolicy"] == nil {
                containers[i]["imagePullPolicy"] = image.hasSuffix(":latest") || !image.contains(":") ? "Always" : "IfNotPresent"
            }
            if containers[i]["terminationMessagePath"] == nil { containers[i]["terminationMessagePath"] = "/dev/termination-log" }
            if containers[i]["terminationMessagePolicy"] == nil { containers[i]["terminationMessagePolicy"] = "File" }
            if containers[i]["resources"] == nil { containers[i]["resources"] = [:] }
        }
        pod.set("spec.containers", .array(containers))
        if pod.at("spec.restartPolicy") == nil { pod.set("spec.restartPolicy", "Always") }
        if pod.at("spec.terminationGracePeriodSeconds") == nil { pod.set("spec.terminationGracePeriodSeconds", 30) }
        if pod.at("spec.dnsPolicy") == nil { pod.set("spec.dnsPolicy", "ClusterFirst") }
        if pod.at("spec.schedulerName") == nil { pod.set("spec.schedulerName", "default-scheduler") }
        if pod.at("spec.serviceAccountName") == nil { pod.set("spec.serviceAccountName", "default") }
        if pod.at("spec.securityContext") == nil { pod.set("spec.securityContext", [:]) }
        if pod.at("spec.enableServiceLinks") == nil { pod.set("spec.enableServiceLinks", true) }
        pod.set("spec.nodeName", nil)
        pod["status"] = ["phase": "Pending", "qosClass": "BestEffort"]
    }
}

/// ResourceQuota admission: 403 Forbidden with the message a real cluster gives.
enum Quotas {
    private static func usage(_ pods: [JSON]) -> [String: Int64] {
        var used: [String: Int64] = ["pods": Int64(pods.count), "count/pods": Int64(pods.count)]
        for pod in pods {
            for c in pod.at("spec.containers")?.array ?? [] {
                for kind in ["requests", "limits"] {
                    if let cpu = c.at("resources.\(kind).cpu")?.string.flatMap(Quantity.milliCPU) { used["\(kind).cpu", default: 0] += cpu }
                    if let mem = c.at("resources.\(kind).memory")?.string.flatMap(Quantity.bytes) { used["\(kind).memory", default: 0] += mem }
                }
            }
        }
        used["cpu"] = used["requests.cpu"]
        used["memory"] = used["requests.memory"]
        return used
    }

    private static func parse(_ key: String, _ value: String) -> Int64? {
        key.hasSuffix("cpu") ? Quantity.milliCPU(value) : key.hasSuffix("memory") ? Quantity.bytes(value) : Int64(value)
    }

    private static func show(_ key: String, _ value: Int64) -> String {
        if key.hasSuffix("cpu") { return value % 1000 == 0 ? String(value / 1000) : "\(value)m" }
        if key.hasSuffix("memory") {
            if value % 1073741824 == 0 { return "\(value / 1073741824)Gi" }
            if value % 1048576 == 0 { return "\(value / 1048576)Mi" }
        }
        return String(value)
    }

    static func admit(store: Store, namespace: String, pod: JSON) async throws {
        let quotas = await store.list("resourcequotas", namespace: namespace).items
        guard !quotas.isEmpty else { return }
        let active = await store.list("pods", namespace: namespace).items.filter {
            !["Succeeded", "Failed"].contains($0.at("status.phase")?.string ?? "")
        }
        let used = usage(active), requested = usage([pod])
        let name = pod.at("metadata.name")?.string ?? ""
        for quota in quotas {
            let hard = quota.at("spec.hard")?.stringMap ?? [:]
            var exceeded: [String] = []
            for key in hard.keys.sorted() {
                guard let limit = parse(key, hard[key]!), let want = requested[key], want > 0 else { continue }
                if (used[key] ?? 0) + want > limit { exceeded.append(key) }
            }
            if !exceeded.isEmpty {
                let req = exceeded.map { "\($0)=\(show($0, requested[$0] ?? 0))" }.joined(separator: ",")
                let use = exceeded.map { "\($0)=\(show($0, used[$0] ?? 0))" }.joined(separator: ",")
                let lim = exceeded.map { "\($0)=\(hard[$0]!)" }.joined(separator: ",")
                throw APIError(code: 403, reason: "Forbidden",
                               message: "pods \"\(name)\" is forbidden: exceeded quota: \(quota.at("metadata.name")?.string ?? ""), requested: \(req), used: \(use), limited: \(lim)",
                               details: ["name": .string(name), "kind": "pods"])
            }
        }
    }

    static func admitCount(store: Store, namespace: String, resource: String, name: String) async throws {
        for quota in await store.list("resourcequotas", namespace: namespace).items {
            let hard = quota.at("spec.hard")?.stringMap ?? [:]
            for key in [resource, "count/" + resource] {
                guard let limit = hard[key].flatMap({ Int64($0) }) else { continue }
                let used = Int64(await store.count(resource, namespace: namespace))
                if used + 1 > limit {
                    throw APIError(code: 403, reason: "Forbidden",
                                   message: "\(resource) \"\(name)\" is forbidden: exceeded quota: \(quota.at("metadata.name")?.string ?? ""), requested: \(key)=1, used: \(key)=\(used), limited: \(key)=\(limit)")
                }
            }
        }
    }
}

/// PATCH: JSON merge patch (also used for strategic merge patches on the fields kubectl
/// changes: labels, annotations) and RFC 6902 JSON patch.
enum Patches {
    static func merge(_ target: inout JSON, _ patch: JSON) {
        guard case .object(let fields) = patch else { target = patch; return }
        if case .object = target {} else { target = [:] }
        for (key, value) in fields {
            if case .null = value { target[key] = nil; continue }
            var child = target[key] ?? .null
            if case .object = value { merge(&child, value) } else { child = value }
            target[key] = child
        }
    }

    static func applyJSONPatch(_ target: inout JSON, _ patch: JSON) throws {
        for op in patch.array ?? [] {
            guard let kind = op["op"]?.string, let pointer = op["path"]?.string else { throw APIError.badRequest("invalid JSON patch") }
            let path = pointer.split(separator: "/").map { $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") }
            func apply(_ node: inout JSON, _ keys: ArraySlice<String>) throws {
                guard let key = keys.first else { return }
                if keys.count == 1 {
                    switch (kind, node) {
                    case ("remove", .object): node[key] = nil
                    case ("add", .array(var a)), ("replace", .array(var a)):
                        let v = op["value"] ?? .null
                        if key == "-" { a.append(v) } else if let i = Int(key), i <= a.count {
                            if kind == "add" { a.insert(v, at: i) } else if i < a.count { a[i] = v }
                        }
                        node = .array(a)
                    case ("remove", .array(var a)):
                        if let i = Int(key), i < a.count { a.remove(at: i) }
                        node = .array(a)
                    default: node[key] = op["value"] ?? .null
                    }
                    return
                }
                if case .array(var a) = node, let i = Int(key), i < a.count {
                    try apply(&a[i], keys.dropFirst())
                    node = .array(a)
                } else {
                    var child = node[key] ?? [:]
                    try apply(&child, keys.dropFirst())
                    node[key] = child
                }
            }
            try apply(&target, path[...])
        }
    }
}
