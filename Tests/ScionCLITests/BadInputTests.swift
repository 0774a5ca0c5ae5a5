import Foundation
import ScionTestSupport
import Testing

/// Bad input gives one clear line on stderr, a non-zero exit, and leaves
/// nothing half-written.
@Suite("bad input through the CLI")
struct BadInputTests {
    @Test("malformed grove settings name the file and line", arguments: [
        ("active_profile: [unclosed\n", "settings.yaml:2:1: malformed YAML"),
        ("schema_version: \"1\"\nprofiles:\n  local:\n    runtime: [a, b]\n", "settings.yaml:4"),
        ("profiles: 3\n", "settings.yaml:1"),
    ])
    func malformedSettings(yaml: String, location: String) throws {
        let sandbox = try ScionSandbox()
        try yaml.write(toFile: sandbox.path + "/.scion/settings.yaml", atomically: true, encoding: .utf8)
        let result = try sandbox.scion("start", "x", "--harness", "shell", "true")
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains(location), "got: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("x")))
    }

    @Test("a profile naming a runtime no plugin provides lists the runtimes that exist")
    func missingRuntimePlugin() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "runtimes.cloud.type", "nimbus")
        try sandbox.check("config", "set", "profiles.cloud.runtime", "cloud")
        let result = try sandbox.scion("start", "x", "-p", "cloud", "--harness", "shell", "true")
        #expect(result.status != 0)
        #expect(result.stderr.contains("runtime plugin \"nimbus\""), "got: \(result.stderr)")
        #expect(result.stderr.contains("available runtimes:") && result.stderr.contains("local"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("x")))
        let validate = try sandbox.scion("config", "validate")
        #expect(validate.status != 0)
        #expect(validate.stdout.contains("settings.yaml:"), "validate names the file: \(validate.stdout)")
    }

    @Test("invalid agent names are refused with the reason", arguments: [
        "a/b", "..", "../escape", "has space", "x;rm", "$(id)", "-flag", "back`tick`", "",
    ])
    func invalidNames(name: String) throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("start", "--harness", "shell", "--", name, "true")
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid agent name"), "got: \(result.stderr)")
        #expect(try sandbox.agents().isEmpty)
    }

    @Test("starting a name that exists is refused; the first agent is untouched")
    func startingAnExistingName() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "one", "--harness", "shell", "sleep 60")
        let result = try sandbox.scion("start", "one", "--harness", "shell", "true")
        #expect(result.status == 4)
        #expect(result.stderr.contains("agent one already exists (running)"))
        #expect(try sandbox.agent("one")?["phase"] as? String == "running")
    }

    @Test("deleting a name that does not exist fails with its name")
    func deletingAMissingName() throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("delete", "ghost")
        #expect(result.status == 3)
        #expect(result.stderr.contains("no agent named ghost"))
    }

    @Test("scion outside a grove says how to make one")
    func outsideAGrove() throws {
        let sandbox = try ScionSandbox(initialize: false)
        let result = try sandbox.scion("list")
        #expect(result.status == 5)
        #expect(result.stderr.contains("not in a scion grove") && result.stderr.contains("scion init"))
    }

    @Test("a task with quotes, $() and newlines reaches the harness verbatim")
    func taskPassedVerbatim() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "harness_configs.recorder.harness", "generic")
        try sandbox.check("config", "set", "harness_configs.recorder.args", #"[sh, -c, 'printf %s "$1" > task.txt; sleep 60', sh]"#)
        let task = "it's \"quoted\" $(touch pwned) `x` ;\nsecond line;\n\\ end;"
        try sandbox.check("start", "verbatim", "--harness", "recorder", task)
        let file = sandbox.agentDirectory("verbatim") + "/workspace/task.txt"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: file) })
        #expect(Shell.eventually { (try? String(contentsOfFile: file, encoding: .utf8)) == task })
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("verbatim") + "/workspace/pwned"))
    }

    @Test("the shell harness without a task is refused before anything is created")
    func shellWithoutTask() throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("start", "idle", "--harness", "shell")
        #expect(result.status == 2)
        #expect(result.stderr.contains("give the agent a task"), "got: \(result.stderr)")
        #expect(try sandbox.agents().isEmpty)
        #expect(!(try sandbox.repository.branches()).contains("idle"))
    }

    @Test("init is idempotent and adds the agents folder to .gitignore once")
    func initIsIdempotent() throws {
        let sandbox = try ScionSandbox()
        let second = try sandbox.check("init")
        #expect(second.contains("already initialized"))
        let gitignore = try String(contentsOfFile: sandbox.path + "/.gitignore", encoding: .utf8)
        #expect(gitignore.components(separatedBy: ".scion/agents/").count == 2)
    }

    @Test("init outside a git repository refuses")
    func initOutsideGit() throws {
        let sandbox = try ScionSandbox()
        let plain = try TemporaryDirectory()
        let result = try sandbox.scion("init", in: plain.path)
        #expect(result.status != 0)
        #expect(result.stderr.contains("not in a git repository"))
    }

    @Test("argument errors exit 2 with one error line and a usage hint naming the command's help", arguments: [
        (["start"], "scion start --help"),
        (["list", "--bogus"], "scion list --help"),
        (["templates", "show"], "scion templates show --help"),
        (["nosuch"], "scion --help"),
        (["help", "nosuch"], "scion --help"),
        (["delete"], "scion delete --help"),
    ])
    func argumentErrors(arguments: [String], help: String) throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion(arguments)
        #expect(result.status == 2, "got \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 2, "got: \(result.stderr)")
        #expect(lines.first?.hasPrefix("error: ") == true)
        #expect(lines.last == "usage: see '\(help)'")
        #expect(result.stdout.isEmpty)
    }

    @Test("help for a command that exists still prints it and exits 0")
    func helpForACommand() throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("help", "list")
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: scion list"))
    }
}
