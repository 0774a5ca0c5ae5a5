import Foundation
import ScionTestSupport
import Testing

/// Templates: harness-independent roles in .scion/templates and
/// ~/.scion/templates, layered on the built-in default.
@Suite("templates", .serialized)
struct TemplateTests {
    @Test("list shows the built-in default; create, show and delete manage a grove template")
    func manageTemplates() throws {
        let sandbox = try ScionSandbox()
        let builtIn = try Self.templates(sandbox)
        #expect(builtIn.map { $0["name"] as? String } == ["default"])
        #expect(builtIn.first?["source"] as? String == "built-in")
        #expect((builtIn.first?["instructions"] as? String)?.contains("# You are scion agent {{agent}}") == true)

        let created = try sandbox.check("templates", "create", "reviewer", "--description", "Reviews diffs", "--harness", "claude")
        #expect(created.contains("created template reviewer in \(sandbox.path)/.scion/templates/reviewer"))
        let folder = sandbox.path + "/.scion/templates/reviewer"
        for file in ["scion-agent.yaml", "agents.md", "system-prompt.md", "home"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "\(file) is missing")
        }
        let listed = try #require(try Self.templates(sandbox).first { $0["name"] as? String == "reviewer" })
        #expect(listed["source"] as? String == "grove")
        #expect(listed["description"] as? String == "Reviews diffs")
        #expect(listed["default_harness_config"] as? String == "claude")
        let table = try sandbox.check("templates", "list")
        #expect(table.contains("reviewer") && table.contains("grove") && table.contains("Reviews diffs"))
        #expect(try sandbox.check("templates", "show", "reviewer").contains("harness config: claude"))

        let twice = try sandbox.scion("templates", "create", "reviewer")
        #expect(twice.status == 4 && twice.stderr.contains("already exists"))
        let badName = try sandbox.scion("templates", "create", "../escape")
        #expect(badName.status == 2 && badName.stderr.contains("invalid template name"))

        try sandbox.check("templates", "delete", "reviewer")
        #expect(!FileManager.default.fileExists(atPath: folder))
        let builtInDelete = try sandbox.scion("templates", "delete", "default")
        #expect(builtInDelete.status != 0 && builtInDelete.stderr.contains("built-in default template cannot be deleted"))
        let missing = try sandbox.scion("templates", "show", "ghost")
        #expect(missing.status == 3 && missing.stderr.contains("no template named \"ghost\""))
    }

    @Test("a grove template wins over a global one of the same name; --global manages ~/.scion/templates")
    func groveWinsOverGlobal() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("templates", "create", "shared", "--global", "--description", "from home")
        #expect(FileManager.default.fileExists(atPath: sandbox.home.path + "/.scion/templates/shared/scion-agent.yaml"))
        #expect(try Self.templates(sandbox).first { $0["name"] as? String == "shared" }?["source"] as? String == "global")
        try sandbox.check("templates", "create", "shared", "--description", "from the grove")
        let shared = try #require(try Self.templates(sandbox).first { $0["name"] as? String == "shared" })
        #expect(shared["source"] as? String == "grove" && shared["description"] as? String == "from the grove")
        try sandbox.check("templates", "create", "copy", "--from", "shared")
        #expect(try Self.templates(sandbox).first { $0["name"] as? String == "copy" }?["description"] as? String == "from the grove")
        try sandbox.check("templates", "delete", "shared", "--global")
        #expect(!FileManager.default.fileExists(atPath: sandbox.home.path + "/.scion/templates/shared"))
        #expect(try Self.templates(sandbox).first { $0["name"] as? String == "shared" }?["source"] as? String == "grove")
    }

    @Test("start -t layers the template: instructions after the default ones, system prompt, home files, env, harness config and model")
    func startFromTemplate() throws {
        let (sandbox, _) = try TestRuntime.local.sandbox()
        Secrets.giveEveryHarnessAKey(sandbox)
        try sandbox.check("config", "set", "profiles.local.env", "{SHARED: from-profile}")
        try sandbox.check("templates", "create", "reviewer")
        let folder = sandbox.path + "/.scion/templates/reviewer"
        try """
            description: Reviews diffs
            default_harness_config: claude
            model: opus
            env: { REVIEW_LEVEL: strict, SHARED: from-template }
            """.write(toFile: folder + "/scion-agent.yaml", atomically: true, encoding: .utf8)
        try "Review every diff on {{branch}}, {{agent}}.\n".write(toFile: folder + "/agents.md", atomically: true, encoding: .utf8)
        try "You are a careful reviewer.\n".write(toFile: folder + "/system-prompt.md", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/home/notes", withIntermediateDirectories: true)
        try "- tests pass\n".write(toFile: folder + "/home/notes/checklist.md", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho hi\n".write(toFile: folder + "/home/bin-tool", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/home/bin-tool")
        // Edited by hand: a local agent gets the template's env and home once the user trusts the new content.
        try sandbox.check("trust")

        try sandbox.check("start", "rev", "-t", "reviewer", "review the branch")
        let home = HarnessScenarios.home(sandbox, "rev")
        let record = try #require(HarnessStandIns.record(home: home, harness: "claude"))
        #expect(record.argv == [
            "--dangerously-skip-permissions", "--model", "opus", "--append-system-prompt", "You are a careful reviewer.",
            "review the branch",
        ])
        #expect(record.env["REVIEW_LEVEL"] == "strict")
        #expect(record.env["SHARED"] == "from-profile", "the profile's env wins over the template's")
        #expect(record.files["notes/checklist.md"] != nil)
        #expect(record.files["bin-tool"] == "755")
        let instructions = try String(contentsOfFile: home + "/.claude/CLAUDE.md", encoding: .utf8)
        let defaultPart = try #require(instructions.range(of: "# You are scion agent rev"))
        let templatePart = try #require(instructions.range(of: "Review every diff on rev, rev."))
        #expect(defaultPart.lowerBound < templatePart.lowerBound)
        let agent = try #require(try sandbox.agent("rev"))
        #expect(agent["harness_config"] as? String == "claude")
        #expect(agent["template"] as? String == "reviewer")

        // Another harness: the template's model (meant for claude) is not passed to it.
        try sandbox.check("start", "rev2", "-t", "reviewer", "--harness", "gemini", "review again")
        let gemini = try #require(HarnessStandIns.record(home: HarnessScenarios.home(sandbox, "rev2"), harness: "gemini"))
        #expect(gemini.argv == ["--yolo", "--prompt-interactive", "review again"])
        #expect(try String(contentsOfFile: HarnessScenarios.home(sandbox, "rev2") + "/.gemini/system.md", encoding: .utf8)
            == "You are a careful reviewer.\n")
    }

    @Test("start -t with a template that does not exist names the ones that do and leaves nothing behind")
    func unknownTemplate() throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("start", "x", "-t", "ghost", "--harness", "shell", "true")
        #expect(result.status == 3)
        #expect(result.stderr.contains("no template named \"ghost\"; templates: default"), "got: \(result.stderr)")
        #expect(try sandbox.agents().isEmpty)
    }

    static func templates(_ sandbox: ScionSandbox) throws -> [[String: Any]] {
        let output = try sandbox.check("templates", "list", "--format", "json")
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
    }
}
