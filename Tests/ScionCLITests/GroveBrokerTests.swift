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

    @Test("`docker exec -i <agent> scion start kid --task-file -` forwards a 1 MB task byte for byte; standard input over the broker's 8 MB limit is refused with exit 2 before anything is sent",
          arguments: TestEngine.allCases)
    func standardInputThroughTheBroker(engine: TestEngine) throws {
        let (world, sandbox, _) = try Self.world(engine)
        try sandbox.check("start", "one", "--harness", "shell", "sleep 120")
        let large = MessageScenarios.payload(bytes: 1024 * 1024)
        let piped = try Shell.run(
            [engine.rawValue, "exec", "-i", world.container("one"), "scion", "start", "kid", "--harness", "shell", "--task-file", "-"],
            input: MessageScenarios.script(large, file: "got.txt"))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(Shell.eventually(timeout: 30) {
            FileManager.default.contents(atPath: sandbox.agentDirectory("kid") + "/home/got.txt") == Data(large.utf8)
        }, "the 1 MB task on standard input did not arrive byte for byte")
        #expect(try sandbox.agent("kid")?["parent"] as? String == "one")
        // 9 MB from a pipe inside the container: the agent's scion stops reading after 8 MB
        // (the writer gets the SIGPIPE, and no engine's stdin copy loses the error line).
        let refused = try engine.exec(
            world.container("one"), "sh", "-c", #"head -c 9437184 /dev/zero | tr '\0' a | scion message kid -"#)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("standard input is larger than 8 MB, the most the grove broker forwards"), "\(refused.stderr)")
        #expect(!(try sandbox.check("logs", "kid", "--journal")).contains("message_received"))
        _ = try sandbox.scion("delete", "--force", "--cascade", "one")
    }

    @Test("the broker's start and every delete sweep the socket folders of agents that are gone, never following a link planted in them, and keep every folder they cannot tell is theirs",
          arguments: TestEngine.allCases)
    func socketFolderSweep(engine: TestEngine) throws {
        let (_, sandbox, broker) = try Self.world(engine)
        try sandbox.check("start", "one", "--harness", "shell", "sleep 120")
        let pid = try #require(Self.brokerPID(sandbox))
        kill(pid, SIGKILL)
        #expect(Shell.eventually(timeout: 10) { !broker.isRunning })
        // Left behind while the broker was dead: the folder of an agent that is
        // gone, holding a link to a file of the user's and a folder of its own.
        let canary = sandbox.home.file("canary.txt")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: canary))
        let ghost = try broker.prepareSocketDirectory(for: "ghost")
        #expect(symlink(canary, ghost + "/broker.sock") == 0)
        #expect(symlink(sandbox.home.path, ghost + "/home-link") == 0)
        try FileManager.default.createDirectory(atPath: ghost + "/inner/deeper", withIntermediateDirectories: true)
        // Kept: a running agent's folder, another grove's live agent, a folder with no owner note.
        let other = try ScionSandbox()
        let otherBroker = GroveBroker(grove: Grove(directory: other.path + "/.scion", isGlobal: false))
        try FileManager.default.createDirectory(atPath: other.agentDirectory("alive"), withIntermediateDirectories: true)
        let alive = try otherBroker.prepareSocketDirectory(for: "alive")
        let unowned = try broker.prepareSocketDirectory(for: "unowned")
        unlink(unowned + ".owner")
        defer {
            otherBroker.removeSocketDirectory(for: "alive")
            rmdir(unowned)
        }

        try sandbox.check("list")  // starts the broker again, which sweeps
        // The folder goes first, then its note.
        #expect(Shell.eventually(timeout: 10) {
            !FileManager.default.fileExists(atPath: ghost) && !FileManager.default.fileExists(atPath: ghost + ".owner")
        }, "the broker's start left the gone agent's folder or its note")
        #expect(FileManager.default.contents(atPath: canary) == Data("keep me".utf8), "the sweep followed a link")
        #expect(FileManager.default.fileExists(atPath: sandbox.home.path))
        #expect(FileManager.default.fileExists(atPath: broker.socketDirectory(for: "one")))
        #expect(FileManager.default.fileExists(atPath: alive))
        #expect(FileManager.default.fileExists(atPath: unowned))
        #expect(Shell.eventually(timeout: 10) {
            ((try? String(contentsOfFile: broker.logPath, encoding: .utf8)) ?? "").contains("removed the socket folders of agents that are gone: ghost")
        }, "\((try? String(contentsOfFile: broker.logPath, encoding: .utf8)) ?? "")")

        // A delete sweeps too, the broker alive or not.
        let second = try broker.prepareSocketDirectory(for: "ghost2")
        #expect(symlink(canary, second + "/broker.sock") == 0)
        try sandbox.check("delete", "--force", "one")
        #expect(!FileManager.default.fileExists(atPath: second), "the delete left the gone agent's folder")
        #expect(!FileManager.default.fileExists(atPath: broker.socketDirectory(for: "one")))
        #expect(FileManager.default.contents(atPath: canary) == Data("keep me".utf8))
        #expect(FileManager.default.fileExists(atPath: alive) && FileManager.default.fileExists(atPath: unowned))
    }
}
