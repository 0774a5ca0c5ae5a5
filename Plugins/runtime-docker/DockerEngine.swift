import Foundation
import ScionContainerSupport
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// The Docker Engine API (v1.41) over its unix socket, through libcurl.
///
/// The engine is `runtime_config.host`, else DOCKER_HOST, else
/// unix:///var/run/docker.sock.
struct DockerEngine: ContainerEngine {
    static let program = "docker"
    static let defaultHost = "unix:///var/run/docker.sock"
    static let defaultAPIVersion = "v1.41"

    let client: EngineHTTPClient
    let apiVersion: String

    init(runtimeConfig: [String: JSONValue]) throws {
        let configured = runtimeConfig["host"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let environment = ProcessInfo.processInfo.environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        client = EngineHTTPClient(endpoint: try EngineEndpoint(configured ?? environment ?? Self.defaultHost))
        var version = runtimeConfig["api_version"]?.stringValue ?? Self.defaultAPIVersion
        if !version.hasPrefix("v") { version = "v" + version }
        apiVersion = version
    }

    var endpoint: String { client.endpoint.address }
    var isLocal: Bool { client.endpoint.isLocal }

    // MARK: containers

    func run(_ plan: ContainerRunPlan) throws -> String {
        let body = try JSONSerialization.data(withJSONObject: createBody(plan), options: [.sortedKeys])
        let created = try request("POST", "/containers/create" + URLText.query([("name", plan.name)]), body: body)
        switch created.status {
        case 201:
            break
        case 404:
            throw ContainerErrors.imageMissing(plan.image, program: Self.program)
        case 409:
            throw ContainerErrors.nameTaken(plan.name, existing: try? inspect(plan.name), program: Self.program)
        case 400:
            throw PluginError(.invalidArgument, "docker refused the container for agent \(plan.agent): \(created.errorMessage)")
        default:
            throw failure("create the container for agent \(plan.agent)", created)
        }
        let id = try decode(EngineJSON.IDResponse.self, created).id

        let started = try request("POST", "/containers/\(id)/start")
        guard started.status == 204 || started.status == 304 else {
            try? remove(id)
            let message = started.errorMessage
            if ContainerErrors.isMissingExecutable(message) {
                throw ContainerErrors.sessionFailed(plan.image, agent: plan.agent, reason: message)
            }
            throw failure("start the container for agent \(plan.agent)", started)
        }
        return id
    }

    /// POST /containers/create: the plan as Docker's container config.
    func createBody(_ plan: ContainerRunPlan) -> [String: Any] {
        var host: [String: Any] = [
            "Mounts": plan.binds.map { bind -> [String: Any] in
                ["Type": "bind", "Source": bind.source, "Target": bind.target, "ReadOnly": bind.readOnly]
            },
            "Init": plan.useInit,
        ]
        if let network = plan.network { host["NetworkMode"] = network }
        if let memory = plan.limits.memoryBytes { host["Memory"] = memory }
        if let nano = plan.limits.nanoCPUs { host["NanoCpus"] = nano }
        var config: [String: Any] = [
            "Image": plan.image,
            "Cmd": plan.command,
            "Env": plan.environmentList,
            "WorkingDir": plan.workdir,
            "Labels": plan.labels,
            "Tty": true,
            "OpenStdin": true,
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "HostConfig": host,
        ]
        if let user = plan.user { config["User"] = user }
        return config
    }

    func stop(_ reference: String, timeoutSeconds: Int) throws {
        let response = try request(
            "POST", "/containers/\(container(reference))/stop" + URLText.query([("t", String(timeoutSeconds))]),
            timeoutSeconds: timeoutSeconds + 30)
        switch response.status {
        case 204, 304: return
        case 404: throw ContainerErrors.noContainer(reference, reference: reference, program: Self.program)
        default: throw failure("stop container \(reference)", response)
        }
    }

    func remove(_ reference: String) throws {
        let response = try request(
            "DELETE", "/containers/\(container(reference))" + URLText.query([("force", "true"), ("v", "true")]))
        switch response.status {
        case 204, 404: return
        case 409 where response.errorMessage.contains("already in progress"): return
        default: throw failure("remove container \(reference)", response)
        }
    }

    func inspect(_ reference: String) throws -> ContainerState? {
        let response = try request("GET", "/containers/\(container(reference))/json")
        switch response.status {
        case 200: return try decode(EngineJSON.ContainerInspect.self, response).containerState
        case 404: return nil
        default: throw failure("inspect container \(reference)", response)
        }
    }

    func list(labels: [String: String]) throws -> [ContainerState] {
        var query = [("all", "true")]
        if !labels.isEmpty {
            let filters = ["label": labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }]
            let json = try JSONSerialization.data(withJSONObject: filters, options: [.sortedKeys])
            query.append(("filters", String(decoding: json, as: UTF8.self)))
        }
        let response = try request("GET", "/containers/json" + URLText.query(query))
        guard response.status == 200 else { throw failure("list containers", response) }
        return try decode([EngineJSON.ContainerSummary].self, response).map(\.containerState)
    }

    func recentOutput(_ reference: String, lines: Int) -> String {
        let query = URLText.query([("stdout", "true"), ("stderr", "true"), ("tail", String(lines))])
        guard let response = try? request("GET", "/containers/\(container(reference))/logs" + query, timeoutSeconds: 5),
              response.status == 200
        else { return "" }
        // A TTY container's log is the raw terminal stream.
        return response.text.replacingOccurrences(of: "\r\n", with: "\n")
    }

    // MARK: exec

    func exec(_ reference: String, argv: [String], stdin: Data?) throws -> ExecResult {
        let createBody: [String: Any] = [
            "AttachStdin": stdin != nil, "AttachStdout": true, "AttachStderr": true, "Tty": false, "Cmd": argv,
        ]
        let created = try request(
            "POST", "/containers/\(container(reference))/exec",
            body: try JSONSerialization.data(withJSONObject: createBody, options: [.sortedKeys]))
        switch created.status {
        case 201: break
        case 404: throw ContainerErrors.noContainer(reference, reference: reference, program: Self.program)
        case 409: throw ContainerErrors.notRunning(reference, state: try? inspect(reference)?.status)
        default: throw failure("exec in container \(reference)", created)
        }
        let execID = try decode(EngineJSON.IDResponse.self, created).id
        let output = try DockerExecStream.run(
            client: client, path: "/\(apiVersion)/exec/\(execID)/start", stdin: stdin)
        if let status = output.refused {
            if status.status == 409 { throw ContainerErrors.notRunning(reference, state: try? inspect(reference)?.status) }
            throw failure("start exec in container \(reference)", status)
        }
        return ExecResult(
            exitCode: try execExitCode(execID), output: output.stdout, errorOutput: output.stderr)
    }

    /// The exec's exit code; the engine records it a moment after the
    /// stream closes.
    private func execExitCode(_ execID: String) throws -> Int {
        struct ExecInspect: Decodable {
            var Running: Bool?
            var ExitCode: Int?
        }
        let deadline = Date().addingTimeInterval(5)
        while true {
            let response = try request("GET", "/exec/\(execID)/json")
            guard response.status == 200 else { throw failure("inspect exec \(execID.prefix(12))", response) }
            let state = try decode(ExecInspect.self, response)
            if state.Running != true, let code = state.ExitCode { return code }
            guard Date() < deadline else { return state.ExitCode ?? -1 }
            usleep(10_000)
        }
    }

    // MARK: images

    func imageExists(_ image: String) throws -> Bool {
        let response = try request("GET", "/images/\(path(image))/json")
        switch response.status {
        case 200: return true
        case 404: return false
        default: throw failure("inspect image \(image)", response)
        }
    }

    func pullImage(_ image: String, progress: EventSink) throws {
        var query = [("fromImage", image)]
        if !Self.hasTagOrDigest(image) { query.append(("tag", "latest")) }
        var pending = Data()
        var streamError: String?
        var cancelled = false
        func relay(_ line: Data) -> Bool {
            guard !line.isEmpty, let message = try? JSONDecoder().decode(PullMessage.self, from: line) else { return true }
            if let error = message.errorDetail?.message ?? message.error {
                streamError = error
                return false
            }
            guard let status = message.status else { return true }
            let text = message.id.map { "\($0): \(status)" } ?? status
            guard progress.emit(ProgressEvent(
                message: text, current: message.progressDetail?.current, total: message.progressDetail?.total))
            else {
                cancelled = true
                return false
            }
            return true
        }
        let response = try client.stream(
            "POST", "/\(apiVersion)/images/create" + URLText.query(query), body: nil
        ) { data in
            pending.append(data)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                guard relay(Data(line)) else { return false }
            }
            return true
        }
        if streamError == nil && !cancelled { _ = relay(pending) }
        if cancelled { return }
        func pullFailed(_ code: PluginError.Code, _ reason: String) -> PluginError {
            ContainerErrors.pullFailed(
                image, program: Self.program, reason: reason, code: code,
                stillMissing: (try? imageExists(image)) == false)
        }
        if let streamError {
            let code: PluginError.Code = streamError.contains("not found") || streamError.contains("does not exist")
                || streamError.contains("access denied") ? .notFound : .unavailable
            throw pullFailed(code, streamError)
        }
        switch response.status {
        case 200: return
        case 404: throw pullFailed(.notFound, response.errorMessage)
        default: throw pullFailed(.unavailable, response.errorMessage)
        }
    }

    private struct PullMessage: Decodable {
        struct Detail: Decodable {
            var current: Int64?
            var total: Int64?
        }

        struct ErrorDetail: Decodable {
            var message: String?
        }

        var status: String?
        var id: String?
        var progressDetail: Detail?
        var error: String?
        var errorDetail: ErrorDetail?
    }

    /// True when the reference names a tag or digest: without one Docker
    /// would pull every tag of the repository.
    static func hasTagOrDigest(_ image: String) -> Bool {
        if image.contains("@") { return true }
        let lastComponent = image.split(separator: "/").last ?? Substring(image)
        return lastComponent.contains(":")
    }

    // MARK: attach

    func attachArgv(_ reference: String, session: String) -> [String] {
        var argv = [Self.program]
        if client.endpoint.address != Self.defaultHost { argv += ["-H", client.endpoint.address] }
        return argv + ["exec", "-it", reference, "tmux", "attach", "-t", session]
    }

    // MARK: plumbing

    private func path(_ component: String) -> String {
        URLText.encode(component, keeping: "/:@")
    }

    /// A container reference in a URL path: one segment, so a handle with
    /// slashes (never a container's) is "no such container", not a redirect
    /// of a path Docker cleans (`//tmp/x` answered HTTP 301).
    private func container(_ reference: String) -> String {
        URLText.encode(reference.hasPrefix("/") ? String(reference.dropFirst()) : reference)
    }

    private func request(
        _ method: String, _ path: String, body: Data? = nil, timeoutSeconds: Int = 120
    ) throws -> HTTPResponse {
        do {
            return try client.send(method, "/\(apiVersion)" + path, body: body, timeoutSeconds: timeoutSeconds)
        } catch let error as HTTPTransportError {
            throw unreachable(error)
        }
    }

    /// The engine did not answer: say where we looked and what to check.
    func unreachable(_ error: HTTPTransportError) -> PluginError {
        let address = client.endpoint.address
        let details: [String: JSONValue] = ["host": .string(address), "reason": .string(error.reason)]
        if let socket = client.endpoint.socketPath {
            if !FileManager.default.fileExists(atPath: socket) {
                return PluginError(.unavailable, "no Docker engine at \(address): is dockerd running?", details: details)
            }
            if access(socket, R_OK | W_OK) != 0 {
                return PluginError(
                    .permissionDenied,
                    "cannot use the Docker engine at \(address): permission denied (add your user to the docker group, or set runtimes.docker.host)",
                    details: details)
            }
        }
        if error.timedOut {
            return PluginError(.unavailable, "the Docker engine at \(address) did not answer in time", details: details)
        }
        return PluginError(
            .unavailable, "no Docker engine at \(address): is dockerd running? (\(error.reason))", details: details)
    }

    private func failure(_ action: String, _ response: HTTPResponse) -> PluginError {
        PluginError(
            .internal, "docker could not \(action): \(response.errorMessage) (HTTP \(response.status))",
            details: ["host": .string(client.endpoint.address), "http_status": .number(Double(response.status))])
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw PluginError(.internal, "unexpected answer from the Docker engine at \(client.endpoint.address): \(error)")
        }
    }
}
