import Foundation
import ScionTestSupport
import Testing

/// `scion-agent`, the in-agent helper, run directly: what it records, what
/// it never does (print on stdout, fail a hook), and how it answers as `scion`.
@Suite("scion-agent, the in-agent helper")
struct AgentHelperTests {
    static var helper: String { BuildProducts.directory + "/scion-agent" }

    func run(_ arguments: [String], home: String, as program: String? = nil, input: String? = nil, agent: Bool = true) throws -> Shell.Result {
        var environment = ["HOME": home, "PATH": "/usr/bin:/bin"]
        if agent { environment["SCION_AGENT"] = "tester" }
        return try Shell.run([program ?? Self.helper] + arguments, environment: environment, input: input)
    }

    func events(_ home: TemporaryDirectory) throws -> [[String: Any]] {
        (home.read(".scion/events.jsonl") ?? "").split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) ?? [:]
        }
    }

    @Test("it needs no shared library but the C library's loader: no libswift*.so")
    func staticallyLinked() throws {
        let ldd = try Shell.run(["ldd", Self.helper])
        #expect((ldd.stdout + ldd.stderr).contains("not a dynamic executable"), "ldd: \(ldd.stdout)\(ldd.stderr)")
        #expect(!ldd.stdout.contains("libswift"))
    }

    @Test("hook appends one line per event: the payload compacted onto it, stdout empty, exit 0")
    func hookRecordsOneLine() throws {
        let home = try TemporaryDirectory()
        let payload = """
            {
              "session_id": "abc",
              "hook_event_name": "PreToolUse",
              "tool_name": "Bash",
              "tool_input": { "command": "npm test", "content": "\(String(repeating: "x", count: 5000))" },
              "nested": [1, 2.5e3, true, null, "é \\" \\\\ \\n \\ud83d\\ude00"]
            }
            """
        let first = try run(["hook", "--harness", "claude", "PreToolUse"], home: home.path, input: payload)
        #expect(first.status == 0 && first.stdout.isEmpty && first.stderr.isEmpty)
        let second = try run(["hook", "--harness", "codex", "notify", #"{"type":"agent-turn-complete"}"#], home: home.path)
        #expect(second.status == 0 && second.stdout.isEmpty)

        let lines = try events(home)
        #expect(lines.count == 2)
        #expect(lines[0]["kind"] as? String == "hook" && lines[0]["harness"] as? String == "claude")
        #expect(lines[0]["event"] as? String == "PreToolUse")
        let recorded = try #require(lines[0]["payload"] as? [String: Any])
        let input = try #require(recorded["tool_input"] as? [String: Any])
        #expect(input["command"] as? String == "npm test")
        let content = try #require(input["content"] as? String)
        #expect(content.hasSuffix("…") && content.utf8.count <= 1024 + 3, "a long string is cut")
        #expect((recorded["nested"] as? [Any])?.last as? String == "é \" \\ \n 😀")
        #expect((lines[1]["payload"] as? [String: Any])?["type"] as? String == "agent-turn-complete")
        #expect((lines[0]["at"] as? String)?.hasSuffix("Z") == true)
    }

    @Test("a payload that is not JSON is kept as a string; no payload at all is an empty string")
    func hookKeepsInvalidPayloads() throws {
        let home = try TemporaryDirectory()
        _ = try run(["hook", "--harness", "gemini", "AfterAgent"], home: home.path, input: "{not json")
        _ = try run(["hook", "--harness", "gemini", "AfterAgent"], home: home.path, input: "")
        let lines = try events(home)
        #expect(lines.map { $0["payload"] as? String } == ["{not json", ""])
    }

    @Test("hook never fails the harness: bad arguments or an unwritable home still exit 0 with nothing on stdout")
    func hookNeverFails() throws {
        let home = try TemporaryDirectory()
        for arguments in [["hook"], ["hook", "--harness"], ["hook", "Stop"]] {
            let result = try run(arguments, home: home.path, input: "{}")
            #expect(result.status == 0 && result.stdout.isEmpty, "\(arguments): \(result)")
        }
        try home.write("file", "")
        let unwritable = try run(["hook", "--harness", "claude", "Stop"], home: home.file("file"), input: "{}")
        #expect(unwritable.status == 0 && unwritable.stdout.isEmpty)
        #expect(unwritable.stderr.contains("cannot"))
    }

    @Test("status records an explicit report; a wrong word or a call outside an agent is refused")
    func status() throws {
        let home = try TemporaryDirectory()
        let ok = try run(["status", "ask_user", "which", "database?"], home: home.path)
        #expect(ok.status == 0 && ok.stdout.isEmpty)
        let line = try #require(try events(home).first)
        #expect(line["kind"] as? String == "status" && line["event"] as? String == "ask_user")
        #expect(line["message"] as? String == "which database?")

        let wrong = try run(["status", "sleeping"], home: home.path)
        #expect(wrong.status == 2 && wrong.stderr.contains("use ask_user, blocked, task_completed or working"))
        let outside = try run(["status", "blocked"], home: home.path, agent: false)
        #expect(outside.status == 1 && outside.stderr.contains("run it inside an agent"))
        #expect(try events(home).count == 1)
    }

    @Test("the host's scion hook and scion status write the same lines as scion-agent")
    func hostCommandsWriteTheSameLines() throws {
        let viaHelper = try TemporaryDirectory(), viaHost = try TemporaryDirectory()
        let payload = #"{"hook_event_name": "Stop", "last_assistant_message": "done"}"#
        for (home, program) in [(viaHelper, Self.helper), (viaHost, BuildProducts.scion)] {
            let hook = try run(["hook", "--harness", "claude", "Stop"], home: home.path, as: program, input: payload)
            #expect(hook.status == 0 && hook.stdout.isEmpty, "\(program): \(hook.stderr)")
            let status = try run(["status", "task_completed", "all", "done"], home: home.path, as: program)
            #expect(status.status == 0, "\(program): \(status.stderr)")
        }
        func withoutTime(_ home: TemporaryDirectory) throws -> [NSDictionary] {
            try events(home).map { var line = $0; line["at"] = nil; return line as NSDictionary }
        }
        #expect(try withoutTime(viaHelper) == (try withoutTime(viaHost)))
        #expect(try withoutTime(viaHost).count == 2)
    }

    @Test("called as scion it answers status and hook, and sends other commands to the grove broker, saying so when it cannot be reached")
    func calledAsScion() throws {
        let home = try TemporaryDirectory()
        let bin = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: bin.file("scion"), withDestinationPath: Self.helper)
        let list = try run(["list"], home: home.path, as: bin.file("scion"))
        #expect(list.status == 7)
        #expect(list.stderr.contains("`scion list` runs on the host through the grove broker, and there is no broker socket at /run/scion/broker.sock"), "\(list.stderr)")
        let status = try run(["status", "working"], home: home.path, as: bin.file("scion"))
        #expect(status.status == 0)
        let unknown = try run(["frobnicate"], home: home.path)
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown command"))
    }
}
