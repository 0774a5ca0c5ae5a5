import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

@Suite("agent text on the terminal, and tasks too long for one argument")
struct AgentTextAndTaskTests {
    @Test("agent text loses every escape sequence and control character and stays one line", arguments: [
        ("plain text", "plain text"),
        ("clear\u{1b}[2Jscreen", "clearscreen"),
        ("color \u{1b}[1;31mred\u{1b}[0m", "color red"),
        ("clip\u{1b}]52;c;aGVsbG8=\u{07}board", "clipboard"),
        ("title\u{1b}]0;owned\u{1b}\\ST", "titleST"),
        ("dcs\u{1b}Pq#0;2;0;0;0\u{1b}\\end", "dcsend"),
        ("charset\u{1b}(Bok", "charsetok"),
        ("keypad\u{1b}=ok", "keypadok"),
        ("eight-bit\u{9b}2Jcsi", "eight-bitcsi"),
        ("eight-bit\u{9d}0;x\u{9c}osc", "eight-bitosc"),
        ("c1\u{85}next", "c1next"),
        ("row one\nfake row\r\n", "row one fake row"),
        ("tab\there", "tab here"),
        ("bell\u{07}del\u{7f}nul\u{0}", "belldelnul"),
        ("non-ASCII é 中文 🙂", "non-ASCII é 中文 🙂"),
        ("unterminated \u{1b}]52;c;aGk=", "unterminated"),
    ])
    func line(input: String, expected: String) {
        #expect(TerminalText.line(input) == expected)
        #expect(TerminalText.isClean(TerminalText.line(input)))
    }

    @Test("multi-line agent text keeps its lines but loses escape sequences")
    func lines() {
        #expect(TerminalText.lines("one\u{1b}[2J\ntwo\r\n\tthree\u{9b}1m\n") == "one\ntwo\n\tthree\n")
    }

    @Test("JSON output escapes DEL and C1 controls, which JSONEncoder leaves raw, and stays the same JSON value")
    func json() throws {
        let value = ["m": "a\u{1b}[2J\u{7f}\u{9b}b\u{85}\n"]
        let encoded = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        let escaped = TerminalText.escapeJSON(encoded)
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(try JSONDecoder().decode([String: String].self, from: Data(escaped.utf8)) == value)
    }

    @Test("secret variables reach the harness through the launch folder, byte for byte, and the next launch drops them")
    func launchEnvironment() throws {
        let home = try TemporaryDirectory()
        let value = "sk-secret 'quoted' $HOME\n"
        try HarnessLaunch.write(["sh", "-c", "printf '%s|' \"$SECRET_ONE\""], home: home.path, environment: ["SECRET_ONE": value])
        let file = home.file(HarnessLaunch.launchPath + "/" + HarnessLaunch.environmentFolder + "/SECRET_ONE")
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let run = try Shell.run(Tmux.harnessWrapper, environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"])
        #expect(run.stdout == value + "|")
        #expect(!Tmux.harnessWrapper.joined().contains("sk-secret"))

        try HarnessLaunch.write(["sh", "-c", "printf '%s|' \"${SECRET_ONE-unset}\""], home: home.path)
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(try Shell.run(Tmux.harnessWrapper, environment: ["HOME": home.path, "PATH": "/usr/bin:/bin"]).stdout == "unset|")
        #expect(throws: PluginError.self) {
            try HarnessLaunch.write(["true"], home: home.path, environment: ["NOT-A-NAME": "x"])
        }
    }

    @Test("the launch folder replaces a symbolic link the agent planted instead of writing through it")
    func launchFilesDoNotFollowLinks() throws {
        let home = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: home.file(".scion"), withIntermediateDirectories: true)
        try outside.write("precious", "keep me")
        try FileManager.default.createSymbolicLink(atPath: home.file(HarnessLaunch.launchPath), withDestinationPath: outside.path)
        try HarnessLaunch.write(["sh", "-c", "echo 'hi'"], home: home.path)
        #expect(outside.read("precious") == "keep me")
        #expect(!FileManager.default.fileExists(atPath: outside.file("0")))
        #expect(home.read(HarnessLaunch.launchPath + "/2") == "echo 'hi'")
        let type = try FileManager.default.attributesOfItem(atPath: home.file(HarnessLaunch.launchPath))[.type] as? FileAttributeType
        #expect(type == .typeDirectory)
    }

    @Test("a task file is not written through a .scion the agent replaced with a link")
    func taskFileRefusesLinkedFolder() throws {
        let home = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: home.file(".scion"), withDestinationPath: outside.path)
        #expect(throws: PluginError.self) {
            try AgentHomeDirectory(home: home.path).write(Data("task".utf8), to: HarnessLaunch.taskPath)
        }
        #expect(!FileManager.default.fileExists(atPath: outside.file("task")))
    }

    @Test("the generic harness runs a shell task too long for one argument from its task file; the shell harness's script is unchanged")
    func genericHarnessLargeTask() throws {
        let harness = try Self.harness("generic")
        let task = String(repeating: "echo x\n", count: 30_000)
        let shell = HarnessConfig(name: "shell", harness: "generic", args: ["sh", "-c"])
        let provision = try harness.provision(ProvisionRequest(
            agent: "a", task: task, config: shell, home: "/h", workdir: "/w", resume: false, taskFile: "/h/.scion/task"))
        #expect(provision.command == ["sh", "-c", ". \"$0\"", "/h/.scion/task"])
        let short = try harness.provision(ProvisionRequest(
            agent: "a", task: "echo hi", config: shell, home: "/h", workdir: "/w", resume: false, taskFile: "/h/.scion/task"))
        #expect(short.command == ["sh", "-c", "echo hi"])
    }

    @Test("claude, codex and gemini get a prompt that points at the task file when the task is too long for one argument",
          arguments: ["claude", "codex", "gemini"])
    func agentHarnessLargeTask(name: String) throws {
        let harness = try Self.harness(name)
        let task = String(repeating: "a long spec line\n", count: 10_000)
        let provision = try harness.provision(ProvisionRequest(
            agent: "a", task: task, config: HarnessConfig(name: name, harness: name), home: "/h", workdir: "/w",
            resume: false, taskFile: "/h/.scion/task"))
        #expect(provision.command.allSatisfy(HarnessLaunch.fitsInArgument))
        #expect(provision.command.contains { $0.contains("/h/.scion/task") && $0.contains("\(task.utf8.count) bytes") },
                "\(provision.command.map { $0.prefix(80) })")
        let short = try harness.provision(ProvisionRequest(
            agent: "a", task: "fix the bug", config: HarnessConfig(name: name, harness: name), home: "/h", workdir: "/w",
            resume: false, taskFile: "/h/.scion/task"))
        #expect(short.command.contains("fix the bug"))
    }

    static func harness(_ name: String) throws -> HarnessClient {
        let catalog = PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion))
        return HarnessClient(try PluginLoader.shared.load(try #require(catalog.find(kind: "harness", name: name))))
    }
}
