import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The docker and podman runtimes end to end on the real engines: the built
/// `scion` binary, real git worktrees, real containers from the debootstrap
/// test image that scripts/test-env.sh imports. Every test runs once per
/// engine. An engine that does not answer fails its tests;
/// SCION_TEST_ENGINES=0 excludes them on purpose.
@Suite(
    "docker and podman runtimes on the real engines", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct ContainerRuntimeTests {
    // MARK: what an agent does inside its container

    @Test(
        "an agent with the shell harness commits inside its container; the commit is on its branch on the host, with the user's identity",
        arguments: TestEngine.allCases)
    func commitInsideContainer(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        let statusBefore = try sandbox.repository.git("status", "--porcelain")
        try sandbox.check(
            "start", "coder", "--harness", "shell",
            #"echo made > made.txt && git add made.txt && git commit -q -m made-inside; git log -1 --format=%s > "$HOME/inside-log.txt"; sleep 60"#)
        #expect(Shell.eventually(timeout: 20) {
            (try? sandbox.repository.git("log", "-1", "--format=%s", "coder")) == "made-inside"
        }, "the commit made in the container is not on branch coder")
        #expect(try sandbox.repository.git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "coder")
            == "Test User <test@example.com>|Test User <test@example.com>")
        #expect(try sandbox.repository.git("ls-tree", "--name-only", "coder").split(separator: "\n").sorted() == ["README.md", "made.txt"])
        #expect(try sandbox.repository.git("status", "--porcelain") == statusBefore, "the main checkout was touched")

        // git in the container sees the same worktree, branch and history.
        let container = world.container("coder")
        let status = try engine.exec(container, "git", "status", "--porcelain", "--branch")
        #expect(status.status == 0, "git status in the container: \(status.stderr)")
        #expect(status.stdout == "## coder\n")
        let log = try engine.exec(container, "git", "log", "-1", "--format=%s")
        #expect(log.stdout == "made-inside\n", "git log in the container: \(log.stdout) \(log.stderr)")
        #expect(try String(contentsOfFile: world.home("coder") + "/inside-log.txt", encoding: .utf8) == "made-inside\n")

        // Files the agent wrote belong to the user on the host.
        let owner = try FileManager.default.attributesOfItem(atPath: world.worktree("coder") + "/made.txt")[.ownerAccountID] as? Int
        #expect(owner == Int(getuid()))
    }

    @Test(
        "attach puts a real terminal on the session inside the container, which loads the user's tmux config",
        arguments: TestEngine.allCases)
    func attachInsideContainer(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        try world.sandbox.home.write(".tmux.conf", "set-option -g @scion-test-config from-home\n")
        try world.sandbox.check("start", "tty", "--harness", "shell", "echo in-container-marker; sleep 60")
        let option = try engine.exec(world.container("tty"), "tmux", "show-options", "-gqv", "@scion-test-config")
        #expect(option.stdout == "from-home\n", "tmux in the container: \(option.stdout) \(option.stderr)")
        var environment = world.sandbox.environment
        environment["TERM"] = "xterm-256color"
        let terminal = try TerminalSession(
            running: [BuildProducts.scion, "-g", world.sandbox.path, "attach", "tty"], environment: environment)
        #expect(Shell.eventually { terminal.screen().contains("in-container-marker") }, "screen: \(terminal.screen())")
        try terminal.type("C-b", "d")
        // The engine's `exec -it` client sometimes outlives the detached tmux
        // client for a while; what the user sees is the detach.
        #expect(Shell.eventually { terminal.screen().contains("[detached") || terminal.endedCleanly },
                "no detach: \(terminal.screen())")
        #expect(try world.sandbox.agent("tty")?["phase"] as? String == "running")
    }

    @Test(
        "the container is <grove>-<id>--<agent>, labelled scion.agent, scion.name, scion.grove, harness and template, with worktree, home and .git at their host paths",
        arguments: TestEngine.allCases)
    func containerNameLabelsAndMounts(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        try world.sandbox.check("start", "labelled", "--harness", "shell", "sleep 60")
        let handle = try #require(try world.sandbox.agent("labelled")?["handle"] as? String)
        let info = try #require(try engine.inspect(world.container("labelled")), "no container \(world.container("labelled"))")
        #expect((info["Id"] as? String) == handle)
        let name = (info["Name"] as? String).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        #expect(name == world.container("labelled"))
        #expect(name?.hasPrefix(world.grove + "-") == true)
        let config = try #require(info["Config"] as? [String: Any])
        let labels = try #require(config["Labels"] as? [String: String])
        #expect(labels["scion.agent"] == "true")
        #expect(labels["scion.name"] == "labelled")
        #expect(labels["scion.grove"] == world.grove)
        #expect(labels["scion.grove_id"] == Grove(directory: world.sandbox.path + "/.scion", isGlobal: false).id)
        #expect(labels["scion.harness"] == "generic")
        #expect(labels["scion.template"] == "default")
        #expect(config["WorkingDir"] as? String == world.worktree("labelled"))

        let mounts = (info["Mounts"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) {
            if let source = $1["Source"] as? String, let destination = $1["Destination"] as? String { $0[source] = destination }
        }
        let gitDirectory = try world.sandbox.repository.git("rev-parse", "--path-format=absolute", "--git-common-dir")
        for path in [world.worktree("labelled"), world.home("labelled"), gitDirectory] {
            #expect(mounts[path] == path, "\(path) is not mounted at its own path: \(mounts)")
        }
        #expect(try world.engine.containers(label: "scion.name=labelled").contains(world.container("labelled")))
    }

    @Test("stop and resume keep the worktree and the home; resume makes a new container on them", arguments: TestEngine.allCases)
    func stopAndResume(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check(
            "start", "keeper", "--harness", "shell", #"echo run >> runs.txt; echo note >> "$HOME/notes"; sleep 60"#)
        let worktree = world.worktree("keeper"), home = world.home("keeper")
        #expect(Shell.eventually(timeout: 20) { FileManager.default.fileExists(atPath: home + "/notes") })
        let first = try #require(try sandbox.agent("keeper")?["handle"] as? String)

        try sandbox.check("stop", "keeper")
        #expect(try sandbox.agent("keeper")?["phase"] as? String == "stopped")
        let state = (try engine.inspect(first)?["State"] as? [String: Any])?["Status"] as? String
        #expect(["exited", "stopped"].contains(state ?? "missing"), "the stopped agent's container is \(state ?? "missing")")
        #expect(try String(contentsOfFile: worktree + "/runs.txt", encoding: .utf8) == "run\n")
        #expect(try String(contentsOfFile: home + "/notes", encoding: .utf8) == "note\n")

        try sandbox.check("resume", "keeper")
        let second = try #require(try sandbox.agent("keeper")?["handle"] as? String)
        #expect(try sandbox.agent("keeper")?["phase"] as? String == "running")
        #expect(second != first, "resume reused the old container")
        #expect(try engine.inspect(first) == nil, "the old container is left behind")
        #expect(Shell.eventually(timeout: 20) {
            (try? String(contentsOfFile: worktree + "/runs.txt", encoding: .utf8)) == "run\nrun\n"
        }, "the resumed agent did not run in the same worktree")
        #expect(Shell.eventually { (try? String(contentsOfFile: home + "/notes", encoding: .utf8)) == "note\nnote\n" })
        #expect(try engine.containers(label: "scion.grove=\(world.grove)") == [world.container("keeper")])

        let again = try sandbox.scion("resume", "keeper")
        #expect(again.status != 0)
        #expect(again.stderr.contains("already running"))
    }

    @Test("delete leaves no container, no worktree, no home and no branch", arguments: TestEngine.allCases)
    func deleteCleansUp(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("start", "gone", "--harness", "shell", "git commit -q --allow-empty -m x; sleep 60")
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.repository.git("log", "-1", "--format=%s", "gone")) == "x" })
        #expect(try sandbox.scion("delete", "gone").status == 8, "an unmerged commit was deleted without --force")
        try sandbox.check("delete", "gone", "--force")
        try world.expectNothingLeft("gone")
        #expect(try engine.containers(label: "scion.grove=\(world.grove)").isEmpty)
    }

    @Test(
        "two agents side by side see neither each other's worktree and home nor each other's environment",
        arguments: TestEngine.allCases)
    func agentsAreIsolated(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        sandbox.extraEnvironment["SECRET_OF_CALLER"] = "leak"
        for (config, variable) in [("shell-a", "ONLY_A: secret-a"), ("shell-b", "ONLY_B: secret-b")] {
            try sandbox.check("config", "set", "harness_configs.\(config).harness", "generic")
            try sandbox.check("config", "set", "harness_configs.\(config).args", #"["sh", "-c"]"#)
            try sandbox.check("config", "set", "harness_configs.\(config).image", engine.image)
            try sandbox.check("config", "set", "harness_configs.\(config).env", "{\(variable)}")
        }
        try sandbox.check("start", "alpha", "--harness", "shell-a", #"env > "$HOME/env.txt"; sleep 60"#)
        try sandbox.check("start", "beta", "--harness", "shell-b", #"env > "$HOME/env.txt"; sleep 60"#)

        for (me, other, mine, theirs) in [("alpha", "beta", "ONLY_A=secret-a", "ONLY_B"), ("beta", "alpha", "ONLY_B=secret-b", "ONLY_A")] {
            let container = world.container(me)
            #expect(try engine.exec(container, "test", "-e", world.worktree(me) + "/README.md").status == 0)
            #expect(try engine.exec(container, "test", "-e", world.home(me)).status == 0)
            #expect(try engine.exec(container, "test", "-e", world.worktree(other)).status != 0, "\(me) sees \(other)'s worktree")
            #expect(try engine.exec(container, "test", "-e", world.home(other)).status != 0, "\(me) sees \(other)'s home")

            let exec = try engine.exec(container, "env")
            #expect(exec.status == 0)
            let envFile = world.home(me) + "/env.txt"
            #expect(Shell.eventually(timeout: 20) { ((try? String(contentsOfFile: envFile, encoding: .utf8)) ?? "").contains("SCION_AGENT=") })
            let session = try String(contentsOfFile: envFile, encoding: .utf8)
            for (what, env) in [("exec", exec.stdout), ("session", session)] {
                let lines = Set(env.split(separator: "\n").map(String.init))
                #expect(lines.contains("SCION_AGENT=\(me)"), "\(me) \(what) env: \(env)")
                #expect(lines.contains(mine), "\(me) \(what) env lacks \(mine)")
                #expect(!lines.contains("SCION_AGENT=\(other)"))
                #expect(!env.contains(theirs), "\(me) \(what) env has \(other)'s \(theirs)")
                #expect(!env.contains("SECRET_OF_CALLER"), "the caller's environment leaked into \(me)")
            }
        }
    }

    @Test("logs and look return what the agent printed; logs --follow ends when the agent stops", arguments: TestEngine.allCases)
    func logsAndLook(engine: TestEngine) async throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("start", "talker", "--harness", "shell", "echo printed-by-agent; echo second-line; sleep 60")
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("logs", "talker"))?.contains("second-line") == true })
        let logs = try sandbox.check("logs", "talker")
        #expect(logs.contains("printed-by-agent\n") || logs.contains("printed-by-agent\r\n"), "logs: \(logs)")
        let tail = try sandbox.check("logs", "talker", "-n", "1")
        #expect(tail.split(separator: "\n").count <= 1)
        #expect(tail.contains("second-line"))
        #expect(Shell.eventually(timeout: 10) {
            let screen = (try? sandbox.check("look", "talker")) ?? ""
            return screen.contains("printed-by-agent") && screen.contains("second-line")
        }, "look does not show what the agent printed")

        // On a thread of its own, and bounded: a follow that never ended would
        // otherwise hold a cooperative thread the rest of the test needs.
        let follow = Task {
            try await Blocking.run {
                try Shell.run(
                    ["timeout", "20", BuildProducts.scion, "-g", sandbox.path, "logs", "talker", "--follow"],
                    environment: sandbox.environment)
            }
        }
        try await Task.sleep(for: .seconds(1.5))
        try await Blocking.run { _ = try sandbox.check("stop", "talker") }
        let result = try await follow.value
        #expect(result.status != 124, "logs --follow did not end within 20 s of the agent stopping")
        #expect(result.status == 0, "logs --follow: \(result.stderr)")
        #expect(result.stdout.contains("printed-by-agent"))
    }

    // MARK: resources and bad input

    @Test(
        "profile resources (memory 256m, cpus 0.5) reach the container; invalid ones are refused and leave nothing behind",
        arguments: TestEngine.allCases)
    func resources(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("config", "set", "profiles.\(engine).resources", #"{memory: 256m, cpus: "0.5"}"#)
        try sandbox.check("start", "limited", "--harness", "shell", "sleep 60")
        let info = try #require(try engine.inspect(world.container("limited")))
        let host = try #require(info["HostConfig"] as? [String: Any])
        #expect((host["Memory"] as? NSNumber)?.int64Value == 268_435_456)
        #expect((host["NanoCpus"] as? NSNumber)?.int64Value == 500_000_000)
        let cgroup = try engine.exec(
            world.container("limited"), "sh", "-c",
            "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
        #expect(cgroup.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "268435456", "the cgroup says \(cgroup.stdout)")

        // Issue 8: a limit the engines would refuse is refused by `config set` already.
        for (key, value, message) in [
            ("memory", "lots", #""lots" is not a memory size"#), ("cpus", "lots", #""lots" is not a number of CPUs"#),
        ] {
            let result = try sandbox.scion("config", "set", "profiles.\(engine).resources", "{\(key): \(value)}")
            #expect(result.status == 2)
            #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        }
    }

    @Test(
        "a missing image gives an error naming the image and how to build one, and leaves nothing behind",
        arguments: TestEngine.allCases)
    func missingImage(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let image = "scion-no-such-image:never"
        let result = try world.sandbox.scion("start", "lost", "--harness", "shell", "--image", image, "sleep 60")
        #expect(result.status != 0)
        #expect(result.stderr.contains("image \(image) is not in \(engine)"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("images/build.sh"), "stderr: \(result.stderr)")
        try world.expectNothingLeft("lost")
    }

    @Test("a volume whose source does not exist is a clear error and leaves nothing behind", arguments: TestEngine.allCases)
    func missingVolumeSource(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let missing = world.sandbox.home.path + "/no-such-folder"
        try world.sandbox.check("config", "set", "profiles.\(engine).volumes", "[\"\(missing):/data\"]")
        let result = try world.sandbox.scion("start", "mounted", "--harness", "shell", "sleep 60")
        #expect(result.status != 0)
        #expect(result.stderr.contains(missing) && result.stderr.contains("does not exist"), "stderr: \(result.stderr)")
        try world.expectNothingLeft("mounted")
    }

    @Test("a container removed behind scion's back shows in list; resume and delete still work", arguments: TestEngine.allCases)
    func containerRemovedBehindOurBack(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("start", "victim", "--harness", "shell", "sleep 60")
        try engine.check("rm", "-f", world.container("victim"))
        let agent = try #require(try sandbox.agent("victim"), "list lost the agent")
        #expect(["error", "stopped"].contains(agent["phase"] as? String ?? ""), "phase \(agent["phase"] ?? "none")")
        #expect((agent["detail"] as? String ?? "").contains("gone"), "detail: \(agent["detail"] ?? "none")")
        #expect(try sandbox.check("list").contains("victim"))

        try sandbox.check("resume", "victim")
        #expect(try sandbox.agent("victim")?["phase"] as? String == "running")
        #expect(try engine.inspect(world.container("victim")) != nil)

        try engine.check("rm", "-f", world.container("victim"))
        try sandbox.check("delete", "victim")
        try world.expectNothingLeft("victim")
    }

    @Test(
        "the same name started twice at once: one wins, the other gets a clear error, no orphan container",
        arguments: TestEngine.allCases)
    func duplicateNameRace(engine: TestEngine) async throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        let results = try await withThrowingTaskGroup(of: Shell.Result.self) { group in
            for _ in 0..<2 { group.addTask { try sandbox.scion("start", "twin", "--harness", "shell", "sleep 60") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
        let loser = try #require(results.first { $0.status != 0 })
        #expect(loser.stderr.contains("agent twin already exists"), "stderr: \(loser.stderr)")
        #expect(try sandbox.agents().count == 1)
        #expect(try sandbox.agent("twin")?["phase"] as? String == "running")
        #expect(try engine.containers(label: "scion.grove=\(world.grove)") == [world.container("twin")])
    }

    @Test(
        "a container name taken by someone else's container is a clear error; that container is left alone",
        arguments: TestEngine.allCases)
    func containerNameTaken(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let squatter = world.container("squatter")
        try engine.check("run", "-d", "--init", "--name", squatter, "--network", "none", engine.image, "sleep", "300")
        defer { _ = try? engine.run("rm", "-f", squatter) }
        let result = try world.sandbox.scion("start", "squatter", "--harness", "shell", "sleep 60")
        #expect(result.status != 0)
        #expect(result.stderr.contains("container named \(squatter) already exists"), "stderr: \(result.stderr)")
        // Never advice to remove a container that is not this agent's.
        #expect(!result.stderr.contains("rm -f"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("was not made by scion"), "stderr: \(result.stderr)")
        try world.expectNothingLeft("squatter", containers: false)
        let state = (try engine.inspect(squatter)?["State"] as? [String: Any])?["Status"] as? String
        #expect(state == "running", "the other container is \(state ?? "gone")")
    }

    @Test(
        "an engine that is not there: start and resume -p say where they looked, start leaves nothing behind, list says it did not answer and an existing agent keeps its own engine",
        arguments: TestEngine.allCases)
    func engineNotReachable(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("start", "before", "--harness", "shell", "sleep 60")
        let bogus = "unix:///tmp/nonexistent.sock"
        try sandbox.check("config", "set", "runtimes.\(engine).host", bogus)
        var restored = false
        defer { if !restored { _ = try? sandbox.scion("config", "set", "runtimes.\(engine).host", "") } }

        let expected = engine == .docker
            ? "no Docker engine at \(bogus): is dockerd running?" : "podman cannot reach \(bogus)"
        let result = try sandbox.scion("start", "after", "--harness", "shell", "sleep 60")
        #expect(result.status != 0)
        #expect(result.stderr.contains(expected), "stderr: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("after")))
        #expect(!(try sandbox.repository.branches()).contains("after"))

        let list = try sandbox.scion("list", "--format", "json")
        #expect(list.status == 0, "list fails when the engine is down: \(list.stderr)")
        #expect(list.stderr.contains(expected), "list stderr: \(list.stderr)")
        let agents = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(agents.map { $0["name"] as? String } == ["before"])
        // An existing agent keeps the engine it was started on (its spec).
        #expect(agents.first?["phase"] as? String == "running", "\(agents)")
        try sandbox.check("stop", "before")
        // Moving it to today's settings is explicit, and says where it looked.
        let resume = try sandbox.scion("resume", "before", "-p", engine.rawValue)
        #expect(resume.status != 0)
        #expect(resume.stderr.contains(expected), "resume stderr: \(resume.stderr)")

        try sandbox.check("config", "set", "runtimes.\(engine).host", "")
        restored = true
        try sandbox.check("resume", "before", "-p", engine.rawValue)
        #expect(try sandbox.agent("before")?["phase"] as? String == "running")
    }

}

/// A sandbox whose active profile runs agents on one real engine, and the
/// names and paths its agents get there.
struct EngineWorld {
    let engine: TestEngine
    let sandbox: ScionSandbox
    let grove: String

    init(_ engine: TestEngine) throws {
        self.engine = engine
        sandbox = try ScionSandbox()
        try engine.configure(sandbox)
        grove = AgentName.slug((sandbox.path as NSString).lastPathComponent)
    }

    /// `<grove>-<id>--<agent>`, the id being the grove's (the hash of its real path).
    func container(_ agent: String) -> String {
        Grove(directory: sandbox.path + "/.scion", isGlobal: false).runtimeName(for: agent)
    }
    func worktree(_ agent: String) -> String { sandbox.agentDirectory(agent) + "/workspace" }
    func home(_ agent: String) -> String { sandbox.agentDirectory(agent) + "/home" }

    /// No record, folder, worktree, branch or container for `agent`.
    func expectNothingLeft(_ agent: String, containers: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try sandbox.agent(agent) == nil, "agent \(agent) is still listed", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory(agent)),
                "\(sandbox.agentDirectory(agent)) is left behind", sourceLocation: sourceLocation)
        #expect(!(try sandbox.repository.branches()).contains(agent), "branch \(agent) is left behind", sourceLocation: sourceLocation)
        #expect(!(try sandbox.repository.git("worktree", "list")).contains("/agents/\(agent)/"),
                "the worktree of \(agent) is still registered", sourceLocation: sourceLocation)
        if containers {
            #expect(try engine.inspect(container(agent)) == nil, "container \(container(agent)) is left behind",
                    sourceLocation: sourceLocation)
        }
    }
}
