import Foundation
import ScionTestSupport
import Testing

/// Messages to agents whose harness has exited, `look` at their last
/// screen, tasks of any size, and agent text on the user's terminal:
/// the real binary on the local runtime and on the container engines.
@Suite("messages, tasks and agent text on the local runtime", .serialized)
struct LocalMessagesAndTasksTests {
    @Test("a message to an agent whose harness has exited is refused and leaves its session alive; look shows its whole last screen")
    func messageToFinishedAgent() throws {
        try MessageScenarios.messageToFinishedAgent(try ScionSandbox())
    }

    @Test("a broadcast reports each agent, goes on past one whose harness has exited, and exits 1")
    func broadcastPastFinishedAgent() throws {
        try MessageScenarios.broadcastPastFinishedAgent(try ScionSandbox())
    }

    @Test("message --interrupt to the shell harness, which the interrupt ends, types nothing into its dead pane")
    func interruptThatEndsTheHarness() throws {
        try MessageScenarios.interruptThatEndsTheHarness(try ScionSandbox())
    }

    @Test("a 100 KB task as an argument and 1 MB tasks with --task-file and on standard input reach the harness byte for byte")
    func largeTasks() throws {
        try MessageScenarios.largeTasks(try ScionSandbox())
    }

    @Test("a task too long for one argument with a harness config that takes it as an argument is refused before anything is made")
    func largeTaskForArgumentHarness() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "harness_configs.echoer", "{harness: generic, args: [echo]}")
        // (too long for scion's own argv too: given on standard input)
        let task = String(repeating: "x", count: 200_000)
        let result = try sandbox.scion(["start", "echo-big", "--harness", "echoer", "--task-file", "-"], input: task)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("more than the 131071 bytes one argument can hold"), "\(result.stderr)")
        #expect(result.stderr.contains("$SCION_TASK_FILE"), "\(result.stderr)")
        #expect(try sandbox.agent("echo-big") == nil, "the refused agent was left behind")
    }

    @Test("--task-file and task arguments together are refused; an unreadable task file is named")
    func taskFileMistakes() throws {
        let sandbox = try ScionSandbox()
        let both = try sandbox.scion("start", "x", "--harness", "shell", "--task-file", "-", "echo hi", input: "echo hi")
        #expect(both.status == 2)
        #expect(both.stderr.contains("either as arguments or with --task-file, not both"), "\(both.stderr)")
        let missing = try sandbox.scion("start", "x", "--harness", "shell", "--task-file", "/nonexistent/task.md")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read the task file /nonexistent/task.md"), "\(missing.stderr)")
        #expect(try sandbox.agent("x") == nil)
    }

    @Test("escape sequences and newlines in a status message reach neither list nor watch raw, and add no table row; JSON keeps them escaped")
    func agentTextIsSanitized() throws {
        let sandbox = try ScionSandbox()
        // ESC [2J clears the screen, OSC 52 sets the clipboard, CSI in its
        // 8-bit form, and a newline that would start a fake row.
        let message = "before\u{1b}[2J\u{1b}]52;c;aGVsbG8=\u{07}\nfake  running  row\u{9b}2Jafter"
        // The message file is written once the home exists; the task waits for it.
        try sandbox.check("start", "evil", "--harness", "shell",
                          #"while [ ! -f "$HOME/message.txt" ]; do sleep 0.1; done; scion status blocked "$(cat "$HOME/message.txt")"; sleep 60"#)
        let list = try Self.waitForMessage(sandbox, message)

        let plain = try sandbox.check("list")
        for control in ["\u{1b}", "\u{07}", "\u{9b}"] {
            #expect(!plain.contains(control), "list printed a raw control character: \(plain.debugDescription)")
        }
        let rows = plain.split(separator: "\n")
        #expect(rows.count == 2, "list printed \(rows.count) lines: \(plain.debugDescription)")
        #expect(rows.last?.contains("before") == true && rows.last?.contains("after") == true, "\(plain.debugDescription)")

        let watch = try Shell.run(
            ["timeout", "3", BuildProducts.scion, "-g", sandbox.path, "watch", "--interval", "0.2"],
            environment: sandbox.environment)
        #expect(watch.stdout.contains("evil"), "watch printed: \(watch.stdout.debugDescription)")
        for control in ["\u{1b}", "\u{07}", "\u{9b}"] {
            #expect(!watch.stdout.contains(control), "watch printed a raw control character: \(watch.stdout.debugDescription)")
        }
        #expect(watch.stdout.split(separator: "\n").filter { $0.contains("fake") }.allSatisfy { $0.contains("evil") },
                "watch printed a line the agent made up: \(watch.stdout.debugDescription)")

        // JSON carries the message exactly, escaped (no raw control byte).
        #expect(list == message)
        let json = try sandbox.check("list", "--format", "json")
        for control in ["\u{1b}", "\u{07}", "\u{9b}"] {
            #expect(!json.contains(control), "list --format json printed a raw control character")
        }
    }

    /// Writes the status message for the agent to report and waits for
    /// `list --format json` to show it; returns what it shows.
    static func waitForMessage(_ sandbox: ScionSandbox, _ message: String) throws -> String? {
        try message.write(toFile: sandbox.agentDirectory("evil") + "/home/message.txt", atomically: true, encoding: .utf8)
        var shown: String?
        _ = try Shell.eventually(timeout: 20) {
            shown = try sandbox.agent("evil")?["activity_message"] as? String
            return shown == message
        }
        return shown
    }
}

@Suite(
    "messages and tasks in docker and podman containers", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct ContainerMessagesAndTasksTests {
    @Test("a message to a container agent whose harness has exited leaves its container running; look shows its whole last screen",
          arguments: TestEngine.allCases)
    func messageToFinishedAgent(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        try MessageScenarios.messageToFinishedAgent(world.sandbox)
        try expectContainerRunning(world, "fin")
    }

    @Test("a broadcast in containers goes on past an agent whose harness has exited", arguments: TestEngine.allCases)
    func broadcastPastFinishedAgent(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        try MessageScenarios.broadcastPastFinishedAgent(world.sandbox)
        try expectContainerRunning(world, "a-done")
    }

    @Test("message --interrupt that ends a container agent's harness types nothing into its dead pane", arguments: TestEngine.allCases)
    func interruptThatEndsTheHarness(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        try MessageScenarios.interruptThatEndsTheHarness(world.sandbox)
        try expectContainerRunning(world, "sleeper")
    }

    @Test("a 100 KB task as an argument and 1 MB tasks with --task-file and on standard input reach a container harness byte for byte",
          arguments: TestEngine.allCases)
    func largeTasks(engine: TestEngine) throws {
        try MessageScenarios.largeTasks(try EngineWorld(engine).sandbox)
    }

    private func expectContainerRunning(_ world: EngineWorld, _ agent: String) throws {
        let state = try world.engine.inspect(world.container(agent))?["State"] as? [String: Any]
        #expect(state?["Running"] as? Bool == true, "the container of \(agent) stopped: \(state ?? [:])")
    }
}

/// The scenarios both runtimes share; the sandbox's active profile picks
/// the runtime.
enum MessageScenarios {
    static func waitForExit(_ sandbox: ScionSandbox, _ name: String) throws {
        let exited = Shell.eventually(timeout: 30) {
            FileManager.default.fileExists(atPath: sandbox.agentDirectory(name) + "/home/.scion/exit-status")
        }
        #expect(exited, "the harness of \(name) did not exit")
        // tmux marks the pane dead just after the wrapper writes the status.
        Thread.sleep(forTimeInterval: 0.3)
    }

    static func messageToFinishedAgent(_ sandbox: ScionSandbox) throws {
        try sandbox.check("start", "fin", "--harness", "shell", "echo first line; echo second line; echo 'third line'")
        try waitForExit(sandbox, "fin")
        let expected = "first line\nsecond line\nthird line\n"
        #expect(try sandbox.check("look", "fin") == expected)

        let refused = try sandbox.scion("message", "fin", "are you there?")
        #expect(refused.status == 1)
        #expect(refused.stderr == "error: the harness of agent fin has exited (exit status 0); `scion resume fin` starts it again\n",
                "\(refused.stderr)")
        // The session is untouched: still running, its last screen intact.
        #expect(try sandbox.agent("fin")?["phase"] as? String == "running")
        #expect(try sandbox.check("look", "fin") == expected)
        let json = try JSONSerialization.jsonObject(with: Data(try sandbox.check("look", "fin", "--format", "json").utf8)) as? [String: Any]
        #expect(json?["harness_exited"] as? Bool == true)
        #expect(json?["exit_status"] as? Int == 0)
        #expect(json?["screen"] as? String == expected)
    }

    static func broadcastPastFinishedAgent(_ sandbox: ScionSandbox) throws {
        // Sorted by name, the finished agent comes first.
        try sandbox.check("start", "a-done", "--harness", "shell", "echo done")
        try sandbox.check("start", "b-alive", "--harness", "shell", #"read line; printf '%s\n' "$line" > got.txt; read line; printf '%s\n' "$line" >> got.txt; sleep 60"#)
        try waitForExit(sandbox, "a-done")

        let plain = try sandbox.scion("message", "--broadcast", "hello everyone")
        #expect(plain.status == 1, "\(plain.stdout) \(plain.stderr)")
        #expect(plain.stdout.contains("skipped a-done: the harness of agent a-done has exited (exit status 0); `scion resume a-done` starts it again\n"),
                "\(plain.stdout)")
        #expect(plain.stdout.contains("sent to b-alive\n"), "\(plain.stdout)")
        #expect(plain.stdout.contains("sent to 1 of 2 running agent(s)"), "\(plain.stdout)")

        let json = try sandbox.scion("message", "--broadcast", "--format", "json", "second round")
        #expect(json.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(report?["sent"] as? [String] == ["b-alive"])
        let skipped = report?["skipped"] as? [[String: Any]]
        #expect(skipped?.count == 1 && skipped?.first?["name"] as? String == "a-done", "\(json.stdout)")
        #expect((skipped?.first?["reason"] as? String)?.contains("has exited") == true)

        let got = sandbox.agentDirectory("b-alive") + "/workspace/got.txt"
        #expect(Shell.eventually(timeout: 20) {
            (try? String(contentsOfFile: got, encoding: .utf8)) == "hello everyone\nsecond round\n"
        }, "b-alive got: \((try? String(contentsOfFile: got, encoding: .utf8)) ?? "nothing")")
        #expect(try sandbox.check("look", "a-done") == "done\n", "the finished agent's session was harmed")
    }

    static func interruptThatEndsTheHarness(_ sandbox: ScionSandbox) throws {
        try sandbox.check("start", "sleeper", "--harness", "shell", "echo sleeping; sleep 60")
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("look", "sleeper")) == "sleeping\n" })
        let result = try sandbox.scion("message", "sleeper", "--interrupt", "wake up")
        #expect(result.status == 1)
        #expect(result.stderr.contains("the interrupt ended the harness of agent sleeper"), "\(result.stderr)")
        #expect(result.stderr.contains("`scion resume sleeper` starts it again"), "\(result.stderr)")
        #expect(try sandbox.agent("sleeper")?["phase"] as? String == "running")
        #expect(try sandbox.check("look", "sleeper").hasPrefix("sleeping\n"), "the session of sleeper was harmed")
    }

    /// Text with everything a shell or tmux could mangle.
    static func payload(bytes: Int) -> String {
        let line = "quotes ' \" $(echo no) `echo no` ${HOME} \\ ; & | > < * ? ~ # % tab\there non-ASCII é ü 中文 🙂 end;\n"
        var text = ""
        while text.utf8.count + line.utf8.count < bytes { text += line }
        return text + String(repeating: "z", count: max(0, bytes - text.utf8.count - 1)) + "\n"
    }

    /// A shell task that writes `payload` (which ends in a newline) into
    /// `$HOME/<file>` through a quoted here-document, so any byte lost or
    /// changed on the way shows in the file.
    static func script(_ payload: String, file: String) -> String {
        "cat > \"$HOME/\(file)\" <<'SCION_PAYLOAD_END'\n\(payload)SCION_PAYLOAD_END\necho written; sleep 60\n"
    }

    static func largeTasks(_ sandbox: ScionSandbox) throws {
        let home = { (agent: String) in sandbox.agentDirectory(agent) + "/home/" }
        func arrived(_ agent: String, _ payload: String) -> Bool {
            Shell.eventually(timeout: 30) {
                FileManager.default.contents(atPath: home(agent) + "got.txt").map { $0 == Data(payload.utf8) } ?? false
            }
        }

        let small = payload(bytes: 100 * 1024)
        try sandbox.check("start", "arg-task", "--harness", "shell", script(small, file: "got.txt"))
        #expect(arrived("arg-task", small), "the 100 KB task given as an argument did not arrive byte for byte")

        let large = payload(bytes: 1024 * 1024)
        let taskFile = sandbox.home.file("task.sh")
        try Data(script(large, file: "got.txt").utf8).write(to: URL(fileURLWithPath: taskFile))
        try sandbox.check("start", "file-task", "--harness", "shell", "--task-file", taskFile)
        #expect(arrived("file-task", large), "the 1 MB task given with --task-file did not arrive byte for byte")
        #expect(FileManager.default.contents(atPath: home("file-task") + ".scion/task") == Data(script(large, file: "got.txt").utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: home("file-task") + ".scion/task")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let piped = try sandbox.scion(["start", "stdin-task", "--harness", "shell", "--task-file", "-"], input: script(large, file: "got.txt"))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(arrived("stdin-task", large), "the 1 MB task given on standard input did not arrive byte for byte")
        #expect(try sandbox.check("look", "stdin-task").hasPrefix("written\n"))
    }
}
