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
