import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The agent/host boundary (docs/safety.md): what an agent plants in the
/// folders it controls never makes the host read, write or run anything
/// outside them. These run on the local runtime; the container attacks are
/// in AgentBoundaryContainerTests.
@Suite("the agent/host boundary on the local runtime", .serialized)
struct AgentBoundaryTests {
    @Test("a template home's link to a file outside the template is refused, never copied with the file's content; a link inside it stays a link")
    func templateLinkOutside() throws {
        let sandbox = try ScionSandbox()
        let outside = try TemporaryDirectory("shadow")
        try outside.write("shadow", "root:SECRET-HASH:19000:0:99999:7:::\n")
        chmod(outside.file("shadow"), 0o600)
        let template = sandbox.path + "/.scion/templates/leaky"
        try FileManager.default.createDirectory(atPath: template + "/home/.config", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: template + "/home/.config/shadow", withDestinationPath: outside.file("shadow"))

        let result = try sandbox.scion("start", "leak", "--harness", "shell", "--type", "leaky", "sleep 30")
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("home/.config/shadow is a symbolic link to \(outside.file("shadow"))"), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("leak")), "the refused start left the agent folder")
        #expect(try sandbox.agent("leak") == nil)

        // A link that stays inside the template's home is copied as a link.
        try FileManager.default.removeItem(atPath: template + "/home/.config/shadow")
        try "inside\n".write(toFile: template + "/home/.config/real.txt", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: template + "/home/.config/alias.txt", withDestinationPath: "real.txt")
        try FileManager.default.createSymbolicLink(atPath: template + "/home/up", withDestinationPath: "../../../..")
        let escaping = try sandbox.scion("start", "leak", "--harness", "shell", "--type", "leaky", "sleep 30")
        #expect(escaping.status == 2 && escaping.stderr.contains("home/up is a symbolic link to ../../../.."), "stderr: \(escaping.stderr)")
        try FileManager.default.removeItem(atPath: template + "/home/up")
        try sandbox.check("trust")  // a grove template's home reaches a local agent only when trusted
        try sandbox.check("start", "leak", "--harness", "shell", "--type", "leaky", "sleep 30")
        let home = sandbox.agentDirectory("leak") + "/home"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: home + "/.config/alias.txt") == "real.txt")
        #expect(try String(contentsOfFile: home + "/.config/real.txt", encoding: .utf8) == "inside\n")
    }

    @Test("a relative volume source that leads out of the grove is refused with the settings file and line; one inside it mounts")
    func volumeSourceEscapes() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "profiles.local.volumes", #"["../../..:/mnt/host"]"#)
        let result = try sandbox.scion("start", "vol", "--harness", "shell", "sleep 30")
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(sandbox.path + "/.scion/settings.yaml:"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("profiles.local.volumes") && result.stderr.contains("\"../../..\""), "stderr: \(result.stderr)")
        #expect(try sandbox.agent("vol") == nil)

        // A link committed in the repository does not make a way out either.
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/data", withDestinationPath: "/etc")
        try sandbox.check("config", "set", "profiles.local.volumes", #"["data:/mnt/data"]"#)
        let linked = try sandbox.scion("start", "vol", "--harness", "shell", "sleep 30")
        #expect(linked.status == 2 && linked.stderr.contains("leads to /etc, outside"), "stderr: \(linked.stderr)")

        // A template's relative source stays inside the template's folder.
        try sandbox.check("config", "set", "profiles.local.volumes", "[]")
        let template = sandbox.path + "/.scion/templates/mounter"
        try FileManager.default.createDirectory(atPath: template, withIntermediateDirectories: true)
        try "volumes:\n  - \"../../../../..:/mnt/up\"\n".write(toFile: template + "/scion-agent.yaml", atomically: true, encoding: .utf8)
        let fromTemplate = try sandbox.scion("start", "vol", "--harness", "shell", "--type", "mounter", "sleep 30")
        #expect(fromTemplate.status == 2, "stderr: \(fromTemplate.stderr)")
        #expect(fromTemplate.stderr.contains(template + "/scion-agent.yaml:2"), "stderr: \(fromTemplate.stderr)")
    }

    @Test("a relative or ~ runtimes.local.state_dir: ~ is expanded, a relative one is refused with file:line, and the user's own tmux server is never touched")
    func stateDirectory() throws {
        let sandbox = try ScionSandbox()
        // The user's own tmux server, where a tmux without -S would land.
        let userTmux = try TemporaryDirectory("user-tmux")
        sandbox.extraEnvironment["TMUX_TMPDIR"] = userTmux.path
        try Shell.check(["env", "TMUX_TMPDIR=\(userTmux.path)", "tmux", "new-session", "-d", "-s", "mine", "sleep 300"])
        defer { _ = try? Shell.run(["env", "TMUX_TMPDIR=\(userTmux.path)", "tmux", "kill-server"]) }

        let refused = try sandbox.scion("config", "set", "runtimes.local.state_dir", "relative/state")
        #expect(refused.status == 2, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("runtimes.local.state_dir must be an absolute path"), "stderr: \(refused.stderr)")
        // Written by hand, it is refused by every command, naming the line.
        let settings = sandbox.path + "/.scion/settings.yaml"
        let original = try String(contentsOfFile: settings, encoding: .utf8)
        try (original + "runtimes:\n  local:\n    type: local\n    state_dir: relative/state\n")
            .write(toFile: settings, atomically: true, encoding: .utf8)
        _ = try sandbox.scion("trust")  // untrusted, the grove's state_dir would be skipped, not refused
        let start = try sandbox.scion("start", "st", "--harness", "shell", "sleep 30")
        #expect(start.status == 2, "stderr: \(start.stderr)")
        #expect(start.stderr.contains("\(settings):"), "stderr: \(start.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/relative"), "a folder appeared in the repository")
        try original.write(toFile: settings, atomically: true, encoding: .utf8)
        try sandbox.check("trust")

        try sandbox.check("config", "set", "runtimes.local.state_dir", "~/st")
        try sandbox.check("start", "st", "--harness", "shell", "sleep 30")
        let handle = try #require(try sandbox.agent("st")?["handle"] as? String)
        #expect(handle.hasPrefix(sandbox.home.path + "/st/"), "handle \(handle)")
        #expect(FileManager.default.fileExists(atPath: handle + "/tmux-\(getuid())/default"))
        _ = try sandbox.check("look", "st")
        try sandbox.check("stop", "st")
        try sandbox.check("delete", "st")
        let mine = try Shell.run(["tmux", "has-session", "-t", "mine"], environment: ["TMUX_TMPDIR": userTmux.path, "PATH": "/usr/bin:/bin"])
        #expect(mine.status == 0, "the user's own tmux server was killed")
    }

    @Test("logs -n N prints the last N lines on the local runtime; agents get a pager that does not wait (git log ends)")
    func logsTailAndPager() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "talk", "--harness", "shell", "for i in 1 2 3 4 5 6; do echo line$i; done; git log; echo after-git-log; sleep 30")
        #expect(Shell.eventually(timeout: 15) { (try? sandbox.check("logs", "talk"))?.contains("after-git-log") == true },
                "git log blocked the agent: \((try? sandbox.check("logs", "talk")) ?? "")")
        let tail = try sandbox.check("logs", "talk", "-n", "2")
        let lines = tail.replacingOccurrences(of: "\r", with: "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.count == 2, "logs -n 2: \(tail)")
        #expect(lines.last == "after-git-log", "logs -n 2: \(tail)")
        #expect(try sandbox.check("logs", "talk", "-n", "0").isEmpty)
    }

    @Test("a link planted in a local agent's home (.scion, .scion/agent.log) is never followed by logs, list, stop or resume")
    func plantedLinksLocal() throws {
        let sandbox = try ScionSandbox()
        let outside = try TemporaryDirectory("outside")
        try outside.write("secret.txt", "TOP-SECRET\n")
        try sandbox.check("start", "evil", "--harness", "shell", "echo hello; sleep 30")
        let home = sandbox.agentDirectory("evil") + "/home"
        #expect(Shell.eventually(timeout: 10) { FileManager.default.fileExists(atPath: home + "/.scion/agent.log") })
        try FileManager.default.removeItem(atPath: home + "/.scion/agent.log")
        try FileManager.default.createSymbolicLink(atPath: home + "/.scion/agent.log", withDestinationPath: outside.file("secret.txt"))
        let logs = try sandbox.scion("logs", "evil")
        #expect(logs.status != 0 && logs.stderr.contains("refusing to use \(home)/.scion/agent.log"), "stderr: \(logs.stderr)")
        #expect(!logs.stdout.contains("TOP-SECRET"))
        try sandbox.check("stop", "evil")
        try FileManager.default.moveItem(atPath: home + "/.scion", toPath: home + "/.scion-moved")
        try FileManager.default.createSymbolicLink(atPath: home + "/.scion", withDestinationPath: outside.path)
        _ = try sandbox.check("list")
        let resume = try sandbox.scion("resume", "evil")
        #expect(resume.status != 0 && resume.stderr.contains("refusing to use \(home)/.scion"), "stderr: \(resume.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["secret.txt"], "the host wrote outside the home")
    }
}

/// The same boundary against agents in real containers.
@Suite(
    "the agent/host boundary in docker and podman containers", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct AgentBoundaryContainerTests {
    @Test(
        "an agent that plants hooks, core.fsmonitor, core.hooksPath and .git/commondir cannot make the host's git run anything; its commit lands on its branch and git log does not wait for a pager",
        arguments: TestEngine.allCases)
    func gitCannotRunOnTheHost(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        let marker = sandbox.home.path + "/PWNED"
        let worktree = world.worktree("mole")
        // Each line tries one way to make the user's next git command run
        // `touch $marker`; the last ones commit and read the log (no pager).
        let script = """
            common="$(git rev-parse --path-format=absolute --git-common-dir)"
            hook='#!/bin/sh
            touch \(marker)'
            for name in post-checkout pre-commit post-commit reference-transaction; do printf '%s\\n' "$hook" > "$common/hooks/$name"; chmod +x "$common/hooks/$name"; done
            git config core.fsmonitor 'touch \(marker); false'
            mkdir -p "\(worktree)/.hooks"; for name in post-checkout pre-commit post-commit; do printf '%s\\n' "$hook" > "\(worktree)/.hooks/$name"; chmod +x "\(worktree)/.hooks/$name"; done
            git config core.hooksPath "\(worktree)/.hooks"
            git config alias.status '!touch \(marker)'
            mkdir -p "$HOME/evil"; cp -r "$common/objects" "$common/refs" "$common/HEAD" "$HOME/evil/"
            printf '[core]\\n\\tfsmonitor = "touch \(marker); false"\\n' > "$HOME/evil/config"
            echo "$HOME/evil" > "$common/commondir"
            printf '[core]\\n\\tfsmonitor = "touch \(marker); false"\\n' > "$common/config.worktree"
            mkdir -p "$common/worktrees/other"
            echo made > made.txt && git add made.txt && git commit -q -m made-inside
            git log --format=%s > "$HOME/log.txt"
            echo done > "$HOME/done.txt"
            sleep 60
            """
        try sandbox.check("start", "mole", "--harness", "shell", script)
        let home = world.home("mole")
        #expect(Shell.eventually(timeout: 30) { FileManager.default.fileExists(atPath: home + "/done.txt") },
                "the agent did not finish (did git log wait for a pager?): \((try? sandbox.check("logs", "mole")) ?? "")")
        #expect(try String(contentsOfFile: home + "/log.txt", encoding: .utf8).hasPrefix("made-inside\n"))
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "mole") == "made-inside")

        // The user's git on the host, in the main checkout.
        _ = try sandbox.repository.git("status")
        try sandbox.repository.directory.write("user.txt", "user\n")
        _ = try sandbox.repository.git("add", "user.txt")
        _ = try sandbox.repository.git("commit", "-q", "-m", "user commit")
        _ = try sandbox.repository.git("checkout", "-q", "-b", "user-branch")
        #expect(!FileManager.default.fileExists(atPath: marker), "the host's git ran code the agent planted")
        let gitDirectory = sandbox.path + "/.git"
        for planted in ["commondir", "config.worktree", "hooks/post-commit", "worktrees/other"] {
            #expect(!FileManager.default.fileExists(atPath: gitDirectory + "/" + planted), "the agent wrote .git/\(planted)")
        }
        let hooksPath = try Shell.run(["git", "-C", sandbox.path, "config", "--get", "core.hooksPath"])
        #expect(hooksPath.status == 1 && hooksPath.stdout.isEmpty, "core.hooksPath is set: \(hooksPath.stdout)")
    }

    @Test(
        "links planted by an agent in its home (.claude, .scion/agent.log, .scion) make logs, stop and resume neither read nor write outside it",
        arguments: TestEngine.allCases)
    func plantedLinks(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        let outside = try TemporaryDirectory("outside")
        try outside.write("secret.txt", "TOP-SECRET\n")
        try FileManager.default.createDirectory(atPath: outside.file("claude"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside.file("scion"), withIntermediateDirectories: true)
        let template = sandbox.path + "/.scion/templates/trap"
        try FileManager.default.createDirectory(atPath: template + "/home/.claude", withIntermediateDirectories: true)
        try "{}\n".write(toFile: template + "/home/.claude/settings.json", atomically: true, encoding: .utf8)
        let script = """
            rm -rf "$HOME/.claude"; ln -s "\(outside.file("claude"))" "$HOME/.claude"
            ln -sf "\(outside.file("secret.txt"))" "$HOME/.scion/agent.log"
            touch "$HOME/phase1"
            while [ ! -e "$HOME/go" ]; do sleep 0.2; done
            mv "$HOME/.scion" "$HOME/scion-moved"; ln -s "\(outside.file("scion"))" "$HOME/.scion"
            touch "$HOME/phase2"
            sleep 60
            """
        try sandbox.check("start", "squatter", "--harness", "shell", "--type", "trap", script)
        let home = world.home("squatter")
        #expect(Shell.eventually(timeout: 30) { FileManager.default.fileExists(atPath: home + "/phase1") })

        let logs = try sandbox.scion("logs", "squatter")
        #expect(logs.status != 0 && logs.stderr.contains("refusing to use \(home)/.scion/agent.log"), "logs: \(logs.stdout) \(logs.stderr)")
        #expect(!logs.stdout.contains("TOP-SECRET"), "logs printed a host file through the agent's link")

        FileManager.default.createFile(atPath: home + "/go", contents: nil)
        #expect(Shell.eventually(timeout: 30) { FileManager.default.fileExists(atPath: home + "/phase2") })
        _ = try sandbox.check("list")
        let second = try sandbox.scion("logs", "squatter")
        #expect(second.status != 0 && !second.stdout.contains("TOP-SECRET"))
        try sandbox.check("stop", "squatter")

        let resume = try sandbox.scion("resume", "squatter")
        #expect(resume.status != 0 && resume.stderr.contains("refusing to use \(home)/.scion"), "resume: \(resume.stderr)")
        // With .scion back, resume reaches the template copy and meets .claude.
        try FileManager.default.removeItem(atPath: home + "/.scion")
        try FileManager.default.moveItem(atPath: home + "/scion-moved", toPath: home + "/.scion")
        let again = try sandbox.scion("resume", "squatter")
        #expect(again.status != 0 && again.stderr.contains("refusing to use \(home)/.claude"), "resume: \(again.stderr)")

        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.file("claude")).isEmpty, "the host wrote through .claude")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.file("scion")).isEmpty, "the host wrote through .scion")
        #expect(try String(contentsOfFile: outside.file("secret.txt"), encoding: .utf8) == "TOP-SECRET\n")
        try sandbox.check("delete", "squatter")
    }

    @Test("podman's secrets leave no file behind a start killed at any moment, and reach the harness only through its launch folder")
    func podmanSecretsLeaveNoFile() throws {
        let world = try EngineWorld(.podman)
        let sandbox = world.sandbox
        let temporary = try TemporaryDirectory("podman-tmp")
        sandbox.extraEnvironment["TMPDIR"] = temporary.path
        let secret = "sk-ant-api03-NEVER-ON-DISK-\(UInt32.random(in: 0...UInt32.max))"
        sandbox.extraEnvironment["ANTHROPIC_API_KEY"] = secret
        try sandbox.check("config", "set", "harness_configs.claude.image", TestEngine.podman.image)

        for (index, delay) in [60, 150, 250, 400, 700].enumerated() {
            // coreutils' timeout sends SIGKILL to scion after the delay.
            _ = try Shell.run(
                ["timeout", "-s", "KILL", String(format: "%.2f", Double(delay) / 1000), BuildProducts.scion,
                 "start", "killed\(index)", "--harness", "claude", "hello"],
                in: sandbox.path, environment: sandbox.environment)
        }
        usleep(500_000)
        let leftovers = FileManager.default.enumerator(atPath: temporary.path)?.allObjects as? [String] ?? []
        for file in leftovers {
            let text = (try? String(contentsOfFile: temporary.file(file), encoding: .utf8)) ?? ""
            #expect(!text.contains(secret), "\(file) holds the secret after a killed start")
        }
        #expect(leftovers.filter { $0.hasPrefix("scion-podman") }.isEmpty, "left in TMPDIR: \(leftovers)")
        for index in 0..<5 {
            _ = try? sandbox.scion("delete", "killed\(index)")
            _ = try? engine(.podman, "rm", "-f", world.container("killed\(index)"))
        }

        // The key goes to the harness through its launch folder (0600, in the
        // agent home; the harness wrapper exports it), never into podman's
        // argv or the container's spec.
        try sandbox.check("start", "keyed", "--harness", "claude", "hello")
        let launchFile = sandbox.agentDirectory("keyed") + "/home/.scion/launch/env/ANTHROPIC_API_KEY"
        #expect(try String(contentsOfFile: launchFile, encoding: .utf8) == secret, "the harness's launch folder lacks the key")
        #expect(try FileManager.default.attributesOfItem(atPath: launchFile)[.posixPermissions] as? Int == 0o600)
        let spec = try TestEngine.podman.check("container", "inspect", world.container("keyed"))
        #expect(!spec.contains(secret), "the secret is in the container's spec")
        let argv = try TestEngine.podman.check("container", "inspect", "--format", "{{json .Config.CreateCommand}}", world.container("keyed"))
        #expect(!argv.contains(secret), "the secret is in podman's argv")
    }

    private func engine(_ engine: TestEngine, _ arguments: String...) throws -> Shell.Result {
        try Shell.run([engine.rawValue] + arguments)
    }
}
