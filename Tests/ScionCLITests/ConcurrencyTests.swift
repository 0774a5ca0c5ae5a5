import Foundation
import ScionTestSupport
import Testing

/// Issue 8, part 6: lock waits end with a sentence naming the holder, and
/// fan-out commands run in parallel and report each failure.
@Suite("concurrency: lock timeouts name the holder; stop of several runs in parallel")
struct ConcurrencyTests {
    /// A real `scion delete held` on a terminal, asking its question while
    /// it holds the agent's lock.
    func holdLock(_ sandbox: ScionSandbox, agent: String) throws -> TerminalSession {
        let terminal = try TerminalSession(
            running: ["sh", "-c", #""$0" "$@"; echo "[exit $?]""#, BuildProducts.scion, "-g", sandbox.path, "delete", agent],
            environment: sandbox.environment)
        #expect(Shell.eventually(timeout: 30) { terminal.screen().contains("delete anyway? [y/N]") }, "\(terminal.screen())")
        return terminal
    }

    func startDirty(_ sandbox: ScionSandbox, _ name: String) throws {
        try sandbox.check("start", name, "--harness", "shell", "touch dirty.txt ../ready.flag; sleep 60")
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: sandbox.agentDirectory(name) + "/ready.flag") })
    }

    @Test("a wait for a held agent lock times out, naming the command and pid that hold it")
    func lockTimeoutNamesHolder() throws {
        let sandbox = try ScionSandbox()
        try startDirty(sandbox, "web")
        let terminal = try holdLock(sandbox, agent: "web")
        sandbox.extraEnvironment["SCION_LOCK_TIMEOUT"] = "1"
        let result = try sandbox.scion("stop", "web")
        #expect(result.status == 1)
        let message = result.stderr.trimmingCharacters(in: .newlines)
        #expect(message.split(separator: "\n").count == 1, "got: \(message)")
        #expect(message.hasPrefix("error: agent web is locked by scion delete, pid "), "got: \(message)")
        #expect(message.contains("gave up after waiting 1 s"), "got: \(message)")
        // The pid is the delete's own process.
        let pid = message.components(separatedBy: "pid ").last?.prefix { $0.isNumber } ?? ""
        let commandLine = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        #expect(commandLine.contains("scion") && commandLine.contains("delete"), "pid \(pid): \(commandLine)")
        try terminal.type("n", "Enter")
        #expect(Shell.eventually(timeout: 30) { terminal.screen().contains("[exit 8]") }, "\(terminal.screen())")
        // Released: the lock no longer names anyone, and stop works.
        sandbox.extraEnvironment["SCION_LOCK_TIMEOUT"] = nil
        try sandbox.check("stop", "web")
    }

    @Test("stop of several agents runs them in parallel: the others stop while the first waits for its lock")
    func fanOutStop() throws {
        let sandbox = try ScionSandbox()
        try startDirty(sandbox, "a")
        for name in ["b", "c", "d"] { try sandbox.check("start", name, "--harness", "shell", "sleep 60") }
        let terminal = try holdLock(sandbox, agent: "a")
        // One after the other, b, c and d would wait behind a (named
        // first); in parallel they are stopped while a's stop still waits.
        sandbox.extraEnvironment["SCION_LOCK_TIMEOUT"] = "60"
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: BuildProducts.scion)
        stop.arguments = ["stop", "a", "b", "c", "d"]
        stop.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        stop.environment = sandbox.environment
        let errors = Pipe()
        let output = Pipe()
        stop.standardError = errors
        stop.standardOutput = output
        try stop.run()
        defer { if stop.isRunning { stop.terminate() } }
        func phase(_ name: String) -> String? { (try? sandbox.agent(name))?["phase"] as? String }
        let othersStopped = Shell.eventually(timeout: 30) { ["b", "c", "d"].allSatisfy { phase($0) == "stopped" } }
        #expect(othersStopped, "b, c, d: \(["b", "c", "d"].map { phase($0) ?? "?" })")
        #expect(stop.isRunning, "the stop of a still waits for its lock")
        #expect(phase("a") == "running")
        // Release a's lock by answering no: its stop then goes on.
        try terminal.type("n", "Enter")
        stop.waitUntilExit()
        let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stop.terminationStatus == 0, "\(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect(stdout == "stopped a\nstopped b\nstopped c\nstopped d\n", "got: \(stdout)")
        #expect(phase("a") == "stopped")
    }

    @Test("a stop of several that cannot stop one reports it, stops the others and exits with its status")
    func fanOutStopReportsFailure() throws {
        let sandbox = try ScionSandbox()
        try startDirty(sandbox, "a")
        try sandbox.check("start", "b", "--harness", "shell", "sleep 60")
        let terminal = try holdLock(sandbox, agent: "a")
        sandbox.extraEnvironment["SCION_LOCK_TIMEOUT"] = "1"
        let result = try sandbox.scion("stop", "a", "b", "nosuch", "--format", "json")
        #expect(result.status == 1, "the first failure's status; got: \(result.status) \(result.stderr)")
        #expect(result.stderr.contains("error: agent a is locked by scion delete"), "got: \(result.stderr)")
        #expect(result.stderr.contains("error: no agent named nosuch"), "got: \(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["stopped"] as? [String] == ["b"])
        let failed = try #require(report["failed"] as? [[String: Any]])
        #expect(failed.compactMap { $0["name"] as? String } == ["a", "nosuch"])
        #expect((try sandbox.agent("b"))?["phase"] as? String == "stopped")
        try terminal.type("n", "Enter")
        #expect(Shell.eventually(timeout: 30) { terminal.screen().contains("[exit 8]") })
    }
}
