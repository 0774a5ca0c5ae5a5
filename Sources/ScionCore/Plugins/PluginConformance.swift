import Foundation
import ScionPluginABI
import ScionPluginKit

/// `scion plugins check`: calls every operation of a plugin with fixture
/// payloads and checks each answer against docs/schemas, the error paths,
/// idempotence for handles the runtime does not know, the stream callback,
/// cancellation and the struct sizes. The plugin runs in a helper process
/// unless asked otherwise, so one that crashes or hangs is a failed check,
/// not a crashed scion.
public struct PluginConformance: Sendable {
    public struct Result: Sendable, Encodable {
        public var check: String
        public var passed: Bool
        /// What was wrong (the field path for a schema failure), or a note.
        public var detail: String
    }

    public let plugin: DiscoveredPlugin
    public let validator: PayloadSchemaValidator
    /// A folder for the fixture agent's worktree and home.
    public let scratch: String
    /// The runtime's options (`runtimes.<name>` as JSON), sent as runtime_config.
    public var runtimeConfig: [String: JSONValue] = [:]
    /// For a runtime that needs an image: the one the lifecycle runs.
    public var image: String?

    public init(plugin: DiscoveredPlugin, validator: PayloadSchemaValidator, scratch: String) {
        self.plugin = plugin
        self.validator = validator
        self.scratch = scratch
    }

    private final class Report: @unchecked Sendable {
        var results: [Result] = []
        func add(_ check: String, _ failures: [String], note: String = "") {
            results.append(Result(check: check, passed: failures.isEmpty, detail: failures.isEmpty ? note : failures.joined(separator: "; ")))
        }
    }

    /// One call and what its answer says, checked against the schemas.
    private struct Answer {
        var status: Int32
        var body: Data
        var events: [Data]
        var failures: [String]
        var ok: Bool { status == Int32(SCION_OK.rawValue) }
        var object: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }
    }

    private var kind: String { plugin.manifest.kind }

    private func call(
        _ connection: PluginConnection, _ operation: String, _ request: Data, instance: PluginInstanceHandle?,
        cancellation: PluginCancellation? = nil, stopAfter: Int? = nil
    ) -> Answer {
        var events: [Data] = []
        let (status, body) = connection.callRaw(operation, request, on: instance, cancellation: cancellation) { event in
            events.append(event)
            return stopAfter.map { events.count < $0 } ?? true
        }
        var failures: [String] = []
        if status == Int32(SCION_OK.rawValue) {
            if let schema = validator.schemaName(operation, "response", kind: kind) {
                failures += validator.validate(body.isEmpty ? Data("{}".utf8) : body, schema: schema).map { "answer: \($0)" }
            }
        } else if body.isEmpty {
            failures.append("status \(status) without an error body (\"did not answer\"); send {schema_version, code, message}")
        } else {
            failures += validator.validate(body, schema: "error").map { "error answer: \($0)" }
        }
        if let schema = validator.schemaName(operation, "event", kind: kind) {
            for (index, event) in events.enumerated() {
                failures += validator.validate(event, schema: schema).map { "event \(index): \($0)" }
            }
        }
        return Answer(status: status, body: body, events: events, failures: failures)
    }

    private func encode<T: Encodable>(_ value: T) -> Data { (try? PayloadCoder.encode(value)) ?? Data() }

    private func message(_ answer: Answer) -> String {
        answer.object?["message"]?.stringValue.map { "status \(answer.status): \($0)" } ?? "status \(answer.status)"
    }

    /// Runs the suite; the results in order.
    public func run(loader: PluginLoader = .shared) -> [Result] {
        let report = Report()
        let connection: PluginConnection
        do {
            connection = try loader.load(plugin)
        } catch {
            report.add("loads: manifest, library, entry point, ABI negotiation", ["\(error)"])
            return report.results
        }
        report.add("loads: manifest, library, entry point, ABI negotiation", [],
                   note: "ABI \(connection.abiVersion), \(connection.isThreadSafe ? "thread-safe" : "serialized"), \(connection.isolation == .process ? "in a helper process" : "in process")")
        report.add("struct sizes: the plugin left struct_size of scion_plugin_api as the host set it", [])
        let instance: PluginInstanceHandle?
        do {
            instance = try connection.instance(configuration: kind == "runtime" ? runtimeConfig : [:])
        } catch {
            report.add("create_instance with the configuration", ["\(error)"])
            return report.results
        }

        let describe = call(connection, PluginOperation.describe, encode(Empty()), instance: instance)
        var failures = describe.failures
        if !describe.ok { failures.append(message(describe)) }
        let description = kind == "harness" ? describe.object?["plugin"] : describe.object
        if describe.ok {
            if description?["name"]?.stringValue != plugin.manifest.name {
                failures.append("name: the library says \"\(description?["name"]?.stringValue ?? "")\", its manifest \"\(plugin.manifest.name)\"")
            }
            if description?["kind"]?.stringValue != kind {
                failures.append("kind: the library says \"\(description?["kind"]?.stringValue ?? "")\", its manifest \"\(kind)\"")
            }
        }
        report.add("describe: answers its description, and it agrees with the manifest (name, kind)", failures)
        var operations: Set<String>? = nil
        if case .array(let names)? = description?["operations"] { operations = Set(names.compactMap(\.stringValue)) }

        let unknown = call(connection, "scion_conformance_no_such_operation", encode(Empty()), instance: instance)
        failures = unknown.failures
        if unknown.status != Int32(SCION_ERR_UNSUPPORTED.rawValue) { failures.append("expected status 4 (unsupported), got \(unknown.status)") }
        report.add("an unknown operation answers unsupported with a JSON error", failures)

        let probe = kind == "runtime" ? PluginOperation.status : PluginOperation.normalizeHook
        let malformed = call(connection, probe, Data("[1, 2".utf8), instance: instance)
        failures = malformed.failures
        if malformed.ok { failures.append("a request that is not JSON was accepted") }
        report.add("a malformed request (\(probe) with bytes that are not JSON) is an error, not a crash", failures)

        let future = call(connection, probe, Data(#"{"schema_version":99,"name":"x","handle":"x","event":"x","payload":{}}"#.utf8), instance: instance)
        failures = future.failures
        if future.ok { failures.append("payload schema 99 was accepted; a reader refuses a schema_version greater than it reads") }
        report.add("a request with a newer schema_version is refused", failures)

        if kind == "runtime" {
            runtimeChecks(connection, instance, operations, report)
        } else {
            harnessChecks(connection, instance, report)
        }
        return report.results
    }

    // MARK: runtimes

    private func runtimeChecks(_ connection: PluginConnection, _ instance: PluginInstanceHandle?, _ operations: Set<String>?, _ report: Report) {
        let capabilities = call(connection, PluginOperation.capabilities, encode(Empty()), instance: instance)
        report.add("capabilities: answers them", capabilities.failures + (capabilities.ok ? [] : [message(capabilities)]))
        let needsImage = capabilities.object?["needs_image"] == .bool(true)

        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        // A handle of the shape most runtimes use (a path) that names nothing.
        let unknown = AgentTarget(name: "scion-conformance-unknown-\(nonce)", handle: scratch + "/unknown-\(nonce)", runtimeConfig: runtimeConfig)
        for operation in [PluginOperation.stop, PluginOperation.delete] {
            let request = operation == PluginOperation.stop
                ? encode(StopRequest(name: unknown.name, handle: unknown.handle, timeoutSeconds: 1, runtimeConfig: runtimeConfig))
                : encode(unknown)
            let answer = call(connection, operation, request, instance: instance)
            report.add("\(operation) of a handle the runtime does not know succeeds (idempotent)", answer.failures + (answer.ok ? [] : [message(answer)]))
        }
        let status = call(connection, PluginOperation.status, encode(unknown), instance: instance)
        var failures = status.failures + (status.ok ? [] : [message(status)])
        if status.ok, status.object?["state"]?.stringValue != "missing" {
            failures.append("state: expected \"missing\", found \(status.object?["state"]?.stringValue ?? "nothing")")
        }
        report.add("status of a handle the runtime does not know answers state missing", failures)

        let labels = ["scion.conformance": nonce]
        let empty = call(connection, PluginOperation.list, encode(ListRequest(labels: labels, runtimeConfig: runtimeConfig)), instance: instance)
        failures = empty.failures + (empty.ok ? [] : [message(empty)])
        if case .array(let agents)? = empty.object?["agents"], !agents.isEmpty { failures.append("agents: expected none with a fresh label, found \(agents.count)") }
        report.add("list filters by labels (none carry a fresh one)", failures)

        if needsImage && image == nil {
            report.add("lifecycle: run, status, list, logs, exec, stop, delete", [], note: "skipped: the runtime needs an image; pass --image")
            return
        }
        lifecycle(connection, instance, labels: labels, nonce: nonce, operations: operations, report)
    }

    private func lifecycle(
        _ connection: PluginConnection, _ instance: PluginInstanceHandle?, labels: [String: String], nonce: String,
        operations: Set<String>?, _ report: Report
    ) {
        let workdir = scratch + "/workdir", home = scratch + "/home"
        for folder in [workdir, home + "/.scion"] { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let name = "conformance--\(nonce)"
        let command = ["sh", "-c", "echo scion-conformance-\(nonce); exec sleep 60"]
        let tmuxConfig = home + "/.scion/tmux.conf"
        try? Tmux.configFile(userConfig: nil).write(toFile: tmuxConfig, atomically: true, encoding: .utf8)
        let spec = RunSpec(
            name: name, agent: "conformance-\(nonce)", grove: "conformance", image: image, command: command,
            env: ["SCION_CONFORMANCE": "1"], labels: labels.merging(["scion.agent": "true", "scion.name": name]) { $1 },
            workdir: workdir, home: home,
            session: SessionLayout(configFile: tmuxConfig), runtimeConfig: runtimeConfig)
        let run = call(connection, PluginOperation.run, encode(spec), instance: instance)
        report.add("run: starts a fixture agent and answers its handle", run.failures + (run.ok ? [] : [message(run)]))
        guard run.ok, let handle = run.object?["handle"]?.stringValue else { return }
        let target = AgentTarget(name: name, handle: handle, runtimeConfig: runtimeConfig, home: home)
        defer { _ = connection.callRaw(PluginOperation.delete, encode(target), on: instance) }

        let running = call(connection, PluginOperation.status, encode(target), instance: instance)
        var failures = running.failures + (running.ok ? [] : [message(running)])
        if running.ok, running.object?["state"]?.stringValue != "running" {
            failures.append("state: expected \"running\", found \(running.object?["state"]?.stringValue ?? "nothing")")
        }
        report.add("status of the running agent answers running", failures)

        let listed = call(connection, PluginOperation.list, encode(ListRequest(labels: labels, runtimeConfig: runtimeConfig)), instance: instance)
        failures = listed.failures + (listed.ok ? [] : [message(listed)])
        if case .array(let agents)? = listed.object?["agents"] {
            if !agents.contains(where: { $0["handle"]?.stringValue == handle }) { failures.append("agents: the running agent (handle \(handle)) is not listed by its label") }
        }
        report.add("list finds the running agent by its label", failures)

        // The log: the agent's first line, through the stream callback.
        var logs = Answer(status: 0, body: Data(), events: [], failures: [])
        let deadline = Date().addingTimeInterval(10)
        repeat {
            logs = call(connection, PluginOperation.logs, encode(LogsRequest(name: name, handle: handle, follow: false, runtimeConfig: runtimeConfig)), instance: instance)
            if !logs.ok || text(logs.events).contains("scion-conformance-\(nonce)") { break }
            Thread.sleep(forTimeInterval: 0.2)
        } while Date() < deadline
        failures = logs.failures + (logs.ok ? [] : [message(logs)])
        if logs.ok, !text(logs.events).contains("scion-conformance-\(nonce)") { failures.append("the agent's output never arrived as log-chunk events") }
        report.add("logs streams the agent's output as log-chunk events", failures)

        let stopped = Date()
        let early = call(connection, PluginOperation.logs, encode(LogsRequest(name: name, handle: handle, follow: true, runtimeConfig: runtimeConfig)), instance: instance, stopAfter: 1)
        failures = early.failures + (early.ok ? [] : [message(early)])
        if Date().timeIntervalSince(stopped) > 5 { failures.append("logs -f kept running \(Int(Date().timeIntervalSince(stopped))) s after on_event asked it to stop") }
        report.add("stream callback: a non-zero on_event return stops logs -f early", failures)

        let cancellation = PluginCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { cancellation.cancel() }
        let cancelStarted = Date()
        let cancelled = call(connection, PluginOperation.logs, encode(LogsRequest(name: name, handle: handle, tail: 0, follow: true, runtimeConfig: runtimeConfig)), instance: instance, cancellation: cancellation)
        failures = cancelled.failures
        let took = Date().timeIntervalSince(cancelStarted)
        if took > 3 { failures.append("logs -f returned \(String(format: "%.1f", took)) s after it started, cancelled at 0.5 s; poll is_cancelled at least every 200 ms") }
        report.add("cancellation: logs -f without output ends promptly once is_cancelled says so", failures)

        if operations?.contains(PluginOperation.exec) ?? true {
            let exec = call(connection, PluginOperation.exec, encode(ExecRequest(name: name, handle: handle, argv: ["cat"], input: Data("in\u{0}put".utf8), runtimeConfig: runtimeConfig)), instance: instance)
            failures = exec.failures + (exec.ok ? [] : [message(exec)])
            if exec.ok, let result = try? PayloadCoder.decode(exec.body, as: ExecResult.self) {
                if result.exitCode != 0 { failures.append("exit_code: expected 0 for cat, found \(result.exitCode)") }
                if result.output != Data("in\u{0}put".utf8) { failures.append("stdout_base64: cat did not give back its input byte for byte") }
            }
            report.add("exec runs a command in the agent, input and output byte for byte", failures)
        }

        let stop = call(connection, PluginOperation.stop, encode(StopRequest(name: name, handle: handle, timeoutSeconds: 5, runtimeConfig: runtimeConfig)), instance: instance)
        report.add("stop ends the agent", stop.failures + (stop.ok ? [] : [message(stop)]))
        // A runtime may take a moment to see its agent gone (a server shutting down).
        var after = call(connection, PluginOperation.status, encode(target), instance: instance)
        let stopDeadline = Date().addingTimeInterval(5)
        while after.ok, after.object?["state"]?.stringValue == "running", Date() < stopDeadline {
            Thread.sleep(forTimeInterval: 0.1)
            after = call(connection, PluginOperation.status, encode(target), instance: instance)
        }
        failures = after.failures + (after.ok ? [] : [message(after)])
        if after.ok, after.object?["state"]?.stringValue == "running" { failures.append("state: still running after stop") }
        report.add("status after stop is no longer running", failures)
        for attempt in ["delete removes the agent", "delete again succeeds (idempotent)"] {
            let delete = call(connection, PluginOperation.delete, encode(target), instance: instance)
            report.add(attempt, delete.failures + (delete.ok ? [] : [message(delete)]))
        }
        let gone = call(connection, PluginOperation.status, encode(target), instance: instance)
        failures = gone.failures + (gone.ok ? [] : [message(gone)])
        if gone.ok, gone.object?["state"]?.stringValue != "missing" { failures.append("state: expected \"missing\" after delete, found \(gone.object?["state"]?.stringValue ?? "nothing")") }
        report.add("status after delete answers missing", failures)
    }

    private func text(_ events: [Data]) -> String {
        events.compactMap { try? PayloadCoder.decode($0, as: LogChunk.self).text }.joined()
    }

    // MARK: harnesses

    private func harnessChecks(_ connection: PluginConnection, _ instance: PluginInstanceHandle?, _ report: Report) {
        let config = HarnessConfig(name: "conformance", harness: plugin.manifest.name, args: [], env: [:])
        let auth = call(connection, PluginOperation.resolveAuth, encode(ResolveAuthRequest(config: config, selected: nil, hostEnv: [:], hostHome: scratch)), instance: instance)
        report.add("resolve_auth answers with no credentials around", auth.failures,
                   note: auth.ok ? "" : "answered \(message(auth)) (a harness that needs credentials may)")
        let home = scratch + "/home", workdir = scratch + "/workdir"
        let provision = call(connection, PluginOperation.provision, encode(ProvisionRequest(
            agent: "conformance", task: "say hello", config: config, home: home, workdir: workdir, resume: false)), instance: instance)
        var failures = provision.failures + (provision.ok ? [] : [message(provision)])
        if provision.ok, case .array(let command)? = provision.object?["command"], command.isEmpty { failures.append("command: empty, nothing would run") }
        report.add("provision answers the command to run", failures)
        let hook = call(connection, PluginOperation.normalizeHook, encode(HookEvent(event: "conformance", payload: .object([:]))), instance: instance)
        report.add("normalize_hook of an unknown event answers", hook.failures + (hook.ok ? [] : [message(hook)]))
    }
}
