import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

/// The grove broker on the real engines: started with the first container
/// agent, started again by the next host command when killed, gone when no
/// agent needs it.
@Suite(
    "the grove broker on docker and podman", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct GroveBrokerTests {
    static func brokerPID(_ sandbox: ScionSandbox) -> pid_t? {
        (try? String(contentsOfFile: sandbox.path + "/.scion/broker.lock", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// A sandbox on the engine, and its grove's broker.
    static func world(_ engine: TestEngine) throws -> (EngineWorld, ScionSandbox, GroveBroker) {
        let world = try EngineWorld(engine)
        return (world, world.sandbox, GroveBroker(grove: Grove(directory: world.sandbox.path + "/.scion", isGlobal: false)))
    }

    @Test("the broker starts with the first container agent, survives being killed (the next command starts it again) and exits once no agent needs it",
          arguments: TestEngine.allCases)
    func lifecycle(engine: TestEngine) throws {
        let (world, sandbox, broker) = try Self.world(engine)
        #expect(!broker.isRunning)
        try sandbox.check("start", "one", "--harness", "shell", "sleep 120")
        #expect(broker.isRunning, "no broker after the first container agent started")
        let inside = try engine.exec(world.container("one"), "scion", "list", "--format", "json")
        #expect(inside.status == 0 && inside.stdout.contains(#""name" : "one""#), "\(inside.stdout) \(inside.stderr)")

        let pid = try #require(Self.brokerPID(sandbox))
        kill(pid, SIGKILL)
        #expect(Shell.eventually(timeout: 10) { !broker.isRunning })
        let down = try engine.exec(world.container("one"), "scion", "list")
        #expect(down.status == 7 && down.stderr.contains("broker"), "\(down.stderr)")
        try sandbox.check("list")
        #expect(Shell.eventually(timeout: 10) {
            (try? engine.exec(world.container("one"), "scion", "list"))?.status == 0
        }, "the broker did not come back with the next host command")

        try sandbox.check("delete", "--force", "one")
        #expect(Shell.eventually(timeout: 20) { !broker.isRunning }, "the broker stayed with no agent to serve")
        let log = (try? String(contentsOfFile: broker.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("exits: no agent needs it") && !log.contains("error"), "\(log)")
    }

    @Test("SIGTERM shuts the broker down gracefully: a command running through it finishes with its output and status",
          arguments: TestEngine.allCases)
    func gracefulShutdown(engine: TestEngine) throws {
        let (world, sandbox, broker) = try Self.world(engine)
        try sandbox.check("start", "one", "--harness", "shell", "sleep 120")
        try sandbox.check("start", "slow", "--harness", "shell", "sleep 120")
        let pid = try #require(Self.brokerPID(sandbox))
        // A request that takes a while: waiting on a sibling for 3 s is refused at once, so wait on its own child.
        let child = try engine.exec(world.container("one"), "scion", "start", "kid", "--harness", "shell", "sleep 120")
        #expect(child.status == 0, "\(child.stderr)")
        let waiting = try Subprocess.startPiped(
            [engine.rawValue, "exec", world.container("one"), "scion", "wait", "kid", "--timeout", "3"],
            environment: nil, workingDirectory: nil)
        usleep(1_000_000)
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(waiting.pid, &status, 0)
        close(waiting.stdout)
        close(waiting.stderr)
        #expect((status >> 8) & 0xFF == 14, "the running wait did not end with its own status (timed out)")
        #expect(Shell.eventually(timeout: 10) { !broker.isRunning })
        _ = try sandbox.scion("delete", "--force", "--cascade", "one")
    }
}
