import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

/// docs/schemas against the plugins this package builds: every answer
/// (response, event or error) must validate against the schema of its
/// operation, and so must the requests the host's clients write.
@Suite("payload schemas: what every built plugin answers")
struct PayloadSchemaTests {
    static let catalog = PluginCatalog(locations: PluginCatalog.standardLocations(
        settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion))

    /// Calls `operation` with `request` (checked as a request), and checks
    /// the answer against the response schema, or the error schema when
    /// it failed, and every event against the event schema.
    static func exchange(
        _ schemas: PayloadSchemas, _ connection: PluginConnection, kind: String, _ operation: String, _ request: some Encodable
    ) throws {
        let label = "\(connection.plugin.manifest.name)-\(operation)"
        let body = try PayloadCoder.encode(request)
        if let name = try PayloadSchemas.schema(operation, "request", kind: kind) { schemas.add(name, body, label: label + "-request") }
        let event = try PayloadSchemas.schema(operation, "event", kind: kind)
        let answer = connection.callRaw(operation, body) { data in
            if let event { schemas.add(event, data, label: label + "-event") }
            return true
        }
        if answer.status == 0 {
            let name = try #require(try PayloadSchemas.schema(operation, "response", kind: kind), "operations.json has no response for \(operation)")
            schemas.add(name, answer.body, label: label)
        } else {
            #expect(!answer.body.isEmpty, "\(label) failed (status \(answer.status)) without a JSON error")
            schemas.add("error", answer.body, label: label + "-error")
        }
    }

    @Test("every built runtime's answers validate: describe, capabilities, list, status, logs, exec, attach_argv, image_exists, stop, delete")
    func runtimes() throws {
        let schemas = try PayloadSchemas()
        let names = ["local", "docker", "podman"]
        for name in names {
            let plugin = try #require(Self.catalog.find(kind: "runtime", name: name), "runtime \(name) not built")
            let connection = try PluginLoader.shared.load(plugin)
            let missing = AgentTarget(name: "scion-schema-test--nobody", handle: name == "local" ? "/nonexistent/scion-schema" : "scion-schema-test-nobody")
            try Self.exchange(schemas, connection, kind: "runtime", "describe", Empty())
            try Self.exchange(schemas, connection, kind: "runtime", "capabilities", Empty())
            try Self.exchange(schemas, connection, kind: "runtime", "list", ListRequest(labels: ["scion.agent": "true", "scion.grove": "schema-test-none"]))
            try Self.exchange(schemas, connection, kind: "runtime", "status", missing)
            try Self.exchange(schemas, connection, kind: "runtime", "logs", LogsRequest(name: missing.name, handle: missing.handle, tail: 5))
            try Self.exchange(schemas, connection, kind: "runtime", "exec", ExecRequest(name: missing.name, handle: missing.handle, argv: ["true"], input: Data([0, 1])))
            try Self.exchange(schemas, connection, kind: "runtime", "attach_argv", missing)
            try Self.exchange(schemas, connection, kind: "runtime", "image_exists", ImageRequest(image: TestRuntime.testImage))
            try Self.exchange(schemas, connection, kind: "runtime", "stop", StopRequest(name: missing.name, handle: missing.handle, timeoutSeconds: 1))
            try Self.exchange(schemas, connection, kind: "runtime", "no_such_operation", Empty())
        }
        #expect(schemas.recorded >= names.count * 10)
        let failures = try schemas.failures()
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("every built harness's answers validate: describe, resolve_auth, provision, normalize_hook, and its errors")
    func harnesses() throws {
        let schemas = try PayloadSchemas()
        let names = ["generic", "claude", "gemini", "codex"]
        for name in names {
            let plugin = try #require(Self.catalog.find(kind: "harness", name: name), "harness \(name) not built")
            let connection = try PluginLoader.shared.load(plugin)
            let config = HarnessConfig(name: name, harness: name, model: "m", args: name == "generic" ? ["sh", "-c"] : [])
            try Self.exchange(schemas, connection, kind: "harness", "describe", Empty())
            for selected in [nil, "api-key"] {
                try Self.exchange(schemas, connection, kind: "harness", "resolve_auth", ResolveAuthRequest(
                    config: config, selected: selected,
                    hostEnv: ["ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "OPENAI_API_KEY": "k"], hostHome: "/nonexistent"))
            }
            let home = try TemporaryDirectory()
            try Self.exchange(schemas, connection, kind: "harness", "provision", ProvisionRequest(
                agent: "a", task: "say hi", config: config, home: home.path, workdir: home.path, resume: false,
                instructions: "be brief", hookCommand: ["/usr/bin/scion-agent", "hook"],
                auth: ResolvedAuth(method: "api-key", env: ["ANTHROPIC_API_KEY": "k"]), taskFile: home.path + "/.scion/task"))
            try Self.exchange(schemas, connection, kind: "harness", "provision", ProvisionRequest(
                agent: "a", task: nil, config: HarnessConfig(name: "e", harness: name), home: "/h", workdir: "/w", resume: true))
            for event in ["SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "Notification", "nonsense"] {
                try Self.exchange(schemas, connection, kind: "harness", "normalize_hook", HookEvent(
                    event: event, payload: .object(["hook_event_name": .string(event), "message": .string("m")])))
            }
        }
        let failures = try schemas.failures()
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test("the validator is not a rubber stamp: a wrong payload fails with its JSON path")
    func validatorRejects() throws {
        let schemas = try PayloadSchemas()
        schemas.add("list-response", Data(#"{"schema_version":1,"agents":[{"name":"a","handle":"h","state":"dead","labels":{}}]}"#.utf8), label: "bad-state")
        schemas.add("run-result", Data(#"{"handle":"h"}"#.utf8), label: "no-version")
        schemas.add("exec-result", Data(#"{"schema_version":1,"exit_code":0,"stdout":"","stderr":"","stdout_base64":"not base64!"}"#.utf8), label: "bad-base64")
        let failures = try schemas.failures()
        #expect(failures.count == 3, "\(failures)")
        #expect(failures.contains { $0.contains("agents[0].state") })
        #expect(failures.contains { $0.contains("schema_version") })
    }
}
