import Foundation
import ScionCore
import ScionTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("plugin calls from the CLI: cancelling logs -f, runtimes without a terminal session")
struct PluginCallCLITests {
    /// `scion logs -f` as a child process of this test, so it can be signalled.
    func follow(_ sandbox: ScionSandbox, _ name: String, into file: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BuildProducts.scion)
        process.arguments = ["-g", sandbox.path, "logs", "-f", name]
        process.environment = sandbox.environment
        FileManager.default.createFile(atPath: file, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: file)
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test("Ctrl-C and SIGTERM on logs -f cancel the runtime's call: scion ends promptly with exit 0 after what it printed", arguments: [SIGINT, SIGTERM])
    func cancelFollow(signal number: Int32) throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "talker", "--harness", "shell", "echo first; sleep 60")
        let output = try TemporaryDirectory()
        let file = output.file("follow.txt")
        let process = try follow(sandbox, "talker", into: file)
        #expect(Shell.eventually { (output.read("follow.txt") ?? "").contains("first") })
        let sent = Date()
        kill(process.processIdentifier, number)
        #expect(Shell.eventually(timeout: 3) { !process.isRunning }, "logs -f did not end after signal \(number)")
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(sent) < 2)
        #expect(process.terminationReason == .exit, "logs -f was killed by the signal instead of ending the call")
        #expect(process.terminationStatus == 0)
        try sandbox.check("stop", "talker")
    }

    @Test("look, message and attach on a runtime without a terminal session say so instead of running tmux through exec")
    func noTerminalSession() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/plain", name: "plain", kind: "runtime",
            responses: [
                "capabilities": #"{"schema_version":1,"needs_image":false,"isolated":false,"terminal_session":false}"#,
                "run": #"{"schema_version":1,"handle":"p1"}"#,
                "status": #"{"schema_version":1,"name":"x","handle":"p1","state":"running","labels":{}}"#,
                "list": #"{"schema_version":1,"agents":[]}"#,
                "stop": #"{"schema_version":1}"#,
                "delete": #"{"schema_version":1}"#,
                "exec": #"{"schema_version":1,"exit_code":99,"stdout":"","stderr":"exec was called"}"#,
                "attach_argv": #"{"schema_version":1,"argv":["false"],"env":{}}"#,
            ], header: .current)
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        try sandbox.check("config", "set", "runtimes.plain.type", "plain")
        try sandbox.check("config", "set", "profiles.plain.runtime", "plain")
        try sandbox.check("start", "proc", "-p", "plain", "--harness", "shell", "sleep 60")
        for command in [["look", "proc"], ["message", "proc", "hello"], ["attach", "proc"]] {
            let result = try sandbox.scion(command)
            #expect(result.status == 1, "\(command): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains(
                "agent proc runs on the plain runtime, which has no terminal session, so `scion \(command[0])` cannot reach it; `scion logs proc` shows its output"),
                "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("exec was called"))
        }
    }
}

@Suite("payload schemas: what the host sends")
struct HostPayloadSchemaTests {
    static let recorder = """
        #include <stdio.h>
        #include <unistd.h>
        static int counter = 0;
        static void record(const char *operation, const uint8_t *request, size_t length) {
          const char *dir = getenv("SCION_RECORD_DIR");
          if (!dir) return;
          char path[4096];
          snprintf(path, sizeof path, "%s/%s.%d.%d.json", dir, operation, (int)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
          FILE *f = fopen(path, "w");
          if (f) { fwrite(request, 1, length, f); fclose(f); }
        }
        """

    @Test("every request the host sends through a whole agent lifecycle validates against docs/schemas")
    func hostRequests() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        let record = try TemporaryDirectory()
        sandbox.extraEnvironment["SCION_RECORD_DIR"] = record.path
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/taper", name: "taper", kind: "runtime",
            responses: [
                "capabilities": #"{"schema_version":1,"needs_image":false,"isolated":false,"terminal_session":true}"#,
                "run": #"{"schema_version":1,"handle":"t1"}"#,
                "status": #"{"schema_version":1,"name":"x","handle":"t1","state":"running","labels":{}}"#,
                "list": #"{"schema_version":1,"agents":[]}"#,
                "stop": #"{"schema_version":1}"#, "delete": #"{"schema_version":1}"#, "logs": #"{"schema_version":1}"#,
                "exec": #"{"schema_version":1,"exit_code":0,"stdout":"0 \n","stderr":""}"#,
            ], header: .current, prelude: Self.recorder, calls: "  record(operation, request, request_length);")
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/tapeh", name: "tapeh", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(name: "tapeh", command: ["true"]),
            header: .current, prelude: Self.recorder, calls: "  record(operation, request, request_length);")
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        try sandbox.check("config", "set", "runtimes.taper.type", "taper")
        try sandbox.check("config", "set", "profiles.taper.runtime", "taper")
        try sandbox.check("config", "set", "harness_configs.tape.harness", "tapeh")
        try sandbox.check("start", "rec", "-p", "taper", "--harness", "tape", "a task")
        for command in [["list"], ["look", "rec"], ["message", "rec", "hello"], ["logs", "rec"], ["stop", "rec"], ["delete", "rec", "--force"]] {
            let result = try sandbox.scion(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: record.path).sorted()
        let operations = Set(files.map { String($0.split(separator: ".")[0]) })
        for expected in ["capabilities", "run", "status", "exec", "logs", "stop", "delete", "describe", "resolve_auth", "provision"] {
            #expect(operations.contains(expected), "the host never sent \(expected): \(operations.sorted())")
        }
        let schemas = try PayloadSchemas()
        for file in files {
            let operation = String(file.split(separator: ".")[0])
            // Request schemas do not depend on the plugin's kind.
            guard let name = try PayloadSchemas.schema(operation, "request") else {
                Issue.record("operations.json names no request schema for \(operation)")
                continue
            }
            schemas.add(name, try Data(contentsOf: URL(fileURLWithPath: record.path + "/" + file)), label: file)
        }
        let failures = try schemas.failures()
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
