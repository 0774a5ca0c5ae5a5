import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The crash-safe lifecycle (issue 7, defects 4, 6 and 13, parts 3 and 8):
/// commands killed at any moment, leftovers that no record owns, names that
/// must stay reusable, two groves with one folder name, and drift.
@Suite("crash safety, prune and drift", .serialized)
struct CrashSafetyTests {
    // MARK: killed commands (defect 4)

    @Test("start, stop and delete killed at spread delays (SIGKILL, SIGTERM, SIGHUP) leave nothing after delete, and every name is reusable (local)")
    func killLoopLocal() throws {
        let world = try KillWorld(engine: nil)
        try world.loop(starts: 9, over: 0...250, stops: 3, over: 0...80, deletes: 3, over: 0...120)
    }

    @Test(
        "start, stop and delete killed at spread delays leave no container, worktree or branch after delete, and every name is reusable (docker)",
        .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
    func killLoopDocker() throws {
        let world = try KillWorld(engine: .docker)
        try world.loop(starts: 8, over: 120...700, stops: 2, over: 20...400, deletes: 3, over: 20...400)
    }

    // MARK: names that races left behind (defect 13)

    @Test("a stale git worktree entry of a deleted agent blocks neither start nor delete of its name")
    func staleWorktreeEntry() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "runtimes.local.state_dir", sandbox.home.path + "/state")
        try sandbox.check("start", "racer", "--harness", "shell", "sleep 60")
        try sandbox.check("stop", "racer")
        // What a raced delete leaves: git's entry (locked, so libgit2 does
        // not see it as prunable) without the agent folder.
        try sandbox.repository.git("worktree", "lock", sandbox.agentDirectory("racer") + "/workspace")
        // Its branch stays checked out in that entry: before, start failed
        // with "already checked out in another worktree".
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("racer"))
        #expect(FileManager.default.fileExists(atPath: sandbox.path + "/.git/worktrees/scion-racer"))

        let started = try sandbox.scion("start", "racer", "--harness", "shell", "sleep 60")
        #expect(started.status == 0, "start over a stale worktree entry: \(started.stderr)")
        try sandbox.check("delete", "racer")

        // And delete of a name with no folder but a stale entry cleans it.
        try sandbox.check("start", "racer", "--harness", "shell", "sleep 60")
        try sandbox.check("stop", "racer")
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("racer"))
        let deleted = try sandbox.scion("delete", "racer")
        #expect(deleted.status == 0, "delete of the leftovers: \(deleted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/.git/worktrees/scion-racer"))
        #expect(try sandbox.scion("delete", "racer").status == 3, "a name with nothing left is \"no agent\"")
    }

    @Test("a start killed between the local runtime's folder and its record leaves nothing after delete")
    func halfMadeLocalFolder() throws {
        let sandbox = try ScionSandbox()
        let state = sandbox.home.path + "/state"
        try sandbox.check("config", "set", "runtimes.local.state_dir", state)
        try sandbox.check("start", "halfway", "--harness", "shell", "sleep 60")
        try sandbox.check("stop", "halfway")
        // What the killed start leaves: the runtime's folder without its
        // record, and a host record that never got the handle.
        let folders = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(folders.count == 1)
        try FileManager.default.removeItem(atPath: state + "/" + folders[0] + "/agent.json")
        let recordPath = sandbox.agentDirectory("halfway") + "/agent.json"
        var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        record["phase"] = "error"
        record.removeValue(forKey: "handle")
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))

        try sandbox.check("delete", "halfway")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).isEmpty, "the half-made folder is left")
    }

    @Test("Feature and feature (one slug) get worktrees of their own")
    func caseDistinctNames() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "runtimes.local.state_dir", sandbox.home.path + "/state")
        try sandbox.check("start", "Feature", "--branch", "upper", "--harness", "shell", "sleep 60")
        let second = try sandbox.scion("start", "feature", "--branch", "lower", "--harness", "shell", "sleep 60")
        #expect(second.status == 0, "the second name: \(second.stderr)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/.git/worktrees").sorted()
        #expect(entries.count == 2 && entries.contains("scion-feature"), "worktree entries: \(entries)")
        try sandbox.check("delete", "Feature")
        #expect(try sandbox.agent("feature")?["phase"] as? String == "running")
        #expect(try sandbox.repository.git("worktree", "list").contains("/agents/feature/workspace"))
    }

    @Test("a tmux server that no record knows does not block its name; start replaces it")
    func unknownTmuxServer() throws {
        let sandbox = try ScionSandbox()
        let state = sandbox.home.path + "/state"
        try sandbox.check("config", "set", "runtimes.local.state_dir", state)
        try sandbox.check("start", "ghost", "--harness", "shell", "sleep 60")
        // The record (and the whole agent folder) vanish; the server lives on.
        let gitEntry = sandbox.path + "/.git/worktrees/scion-ghost"
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("ghost"))
        try FileManager.default.removeItem(atPath: gitEntry)
        try sandbox.repository.git("branch", "-D", "ghost")
        let before = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(before.count == 1)

        let started = try sandbox.scion("start", "ghost", "--harness", "shell", "sleep 60")
        #expect(started.status == 0, "start of a name whose old tmux server lives: \(started.stderr)")
        #expect(try sandbox.agent("ghost")?["phase"] as? String == "running")
        try sandbox.check("delete", "ghost")
        #expect(Shell.eventually(timeout: 5) { KillWorld.processes(mentioning: state).isEmpty },
                "tmux processes left: \(KillWorld.processes(mentioning: state))")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).isEmpty)
    }

    // MARK: prune

    @Test("prune removes this grove's tmux servers, worktree entries and half-created agents that no record owns; --dry-run only lists them")
    func pruneLocal() throws {
        let sandbox = try ScionSandbox()
        let state = sandbox.home.path + "/state"
        try sandbox.check("config", "set", "runtimes.local.state_dir", state)
        try sandbox.check("start", "kept", "--harness", "shell", "sleep 60")
        try sandbox.check("start", "orphan", "--harness", "shell", "sleep 60")
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("orphan"))
        // A folder whose start died before its record, made long ago.
        let empty = sandbox.agentDirectory("halfmade")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: empty)

        let dry = try JSONSerialization.jsonObject(with: Data(try sandbox.check("prune", "--dry-run", "--format", "json").utf8)) as? [String: Any]
        let items = dry?["items"] as? [[String: Any]] ?? []
        let kinds = Set(items.map { "\($0["kind"] ?? "")" })
        #expect(dry?["dry_run"] as? Bool == true)
        #expect(kinds.isSuperset(of: ["instance", "worktree_entry", "agent_folder", "branch"]), "dry run: \(items)")
        #expect(items.allSatisfy { ["would_remove", "kept"].contains($0["action"] as? String ?? "") })
        #expect(FileManager.default.fileExists(atPath: empty) && FileManager.default.fileExists(atPath: sandbox.path + "/.git/worktrees/scion-orphan"))

        let output = try sandbox.check("prune")
        #expect(output.contains("removed"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: empty))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/.git/worktrees/scion-orphan"))
        #expect(try sandbox.repository.branches().contains("orphan"), "prune deleted a branch no record proves scion made")
        #expect(try FileManager.default.contentsOfDirectory(atPath: state).count == 1, "the orphan's tmux state is left")
        #expect(try sandbox.agent("kept")?["phase"] as? String == "running", "prune touched an agent with a record")
        #expect(try sandbox.check("prune") == "nothing to prune\n" || !(try sandbox.check("prune", "--format", "json").contains("would_remove")))
    }

    @Test("prune removes the podman environment files (0600, with secrets) a killed start left for this grove, and only those")
    func pruneSecretFiles() throws {
        let sandbox = try ScionSandbox()
        let temporary = try TemporaryDirectory("scion-tmp")
        sandbox.extraEnvironment["TMPDIR"] = temporary.path
        func envFile(_ folder: String, grove: String) throws -> String {
            try FileManager.default.createDirectory(atPath: temporary.path + "/" + folder, withIntermediateDirectories: true)
            let file = temporary.path + "/" + folder + "/env"
            try "API_KEY=secret\nSCION_AGENT=gone\nSCION_GROVE=\(grove)\n".write(toFile: file, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600, .modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: file)
            return file
        }
        let ours = try envFile("scion-podman-AAAAAA", grove: sandbox.path + "/.scion")
        let theirs = try envFile("scion-podman-BBBBBB", grove: "/elsewhere/.scion")
        let dry = try sandbox.check("prune", "--dry-run")
        #expect(dry.contains("would remove environment file"), "\(dry)")
        #expect(FileManager.default.fileExists(atPath: ours))
        try sandbox.check("prune")
        #expect(!FileManager.default.fileExists(atPath: ours) && !FileManager.default.fileExists(atPath: temporary.path + "/scion-podman-AAAAAA"))
        #expect(FileManager.default.fileExists(atPath: theirs), "prune removed another grove's file")
    }

    // MARK: grove identity (defect 6)

    @Test(
        "two groves with the same folder name run same-named docker agents side by side; deleting one leaves the other running",
        .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
    func sameFolderNameGroves() throws {
        let engine = TestEngine.docker
        let first = try ScionSandbox(folderName: "app"), second = try ScionSandbox(folderName: "app")
        try engine.configure(first)
        try engine.configure(second)
        try first.check("start", "pd1", "--harness", "shell", "sleep 60")
        let started = try second.scion("start", "pd1", "--harness", "shell", "sleep 60")
        #expect(started.status == 0, "the second grove's pd1: \(started.stderr)")
        let ids = [first, second].map { Grove(directory: $0.path + "/.scion", isGlobal: false).id }
        #expect(ids[0] != ids[1])
        #expect(try first.agent("pd1")?["phase"] as? String == "running")
        #expect(try second.agent("pd1")?["phase"] as? String == "running")
        try second.check("delete", "pd1")
        #expect(try first.agent("pd1")?["phase"] as? String == "running", "deleting the other grove's pd1 touched this one")
        #expect(try engine.containers(label: "scion.grove_id=\(ids[0])").count == 1)
        #expect(try engine.containers(label: "scion.grove_id=\(ids[1])").isEmpty)
        #expect(!(try second.check("prune", "--dry-run")).contains("would remove"), "prune in one grove sees the other's agent")
    }

    @Test(
        "a container left by a lost record is listed, does not block its name, and prune removes it (docker)",
        .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
    func leftoverContainer() throws {
        let world = try EngineWorld(.docker)
        let sandbox = world.sandbox
        try sandbox.check("start", "lost", "--harness", "shell", "sleep 60")
        let old = try #require(try sandbox.agent("lost")?["handle"] as? String)
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("lost"))
        let listed = try sandbox.agent("lost")
        #expect((listed?["problem"] as? String)?.contains("no agent record") == true, "list: \(String(describing: listed))")
        try sandbox.repository.git("worktree", "prune")
        try sandbox.repository.git("branch", "-D", "lost")

        let started = try sandbox.scion("start", "lost", "--harness", "shell", "sleep 60")
        #expect(started.status == 0, "start over the old container: \(started.stderr)")
        #expect(try world.engine.inspect(old) == nil, "the old container is still there")

        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("lost"))
        try sandbox.check("prune")
        #expect(try world.engine.inspect(world.container("lost")) == nil, "prune left the container")
    }

    // MARK: drift (part 8)

    @Test("a deleted worktree folder, a renamed branch and a moved repository show in list and doctor; doctor --fix repairs them; delete still cleans up")
    func drift() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "runtimes.local.state_dir", sandbox.home.path + "/state")
        for name in ["nofolder", "renamed", "nobranch"] {
            try sandbox.check("start", name, "--harness", "shell", "sleep 60")
            try sandbox.check("stop", name)
        }
        try FileManager.default.removeItem(atPath: sandbox.agentDirectory("nofolder") + "/workspace")
        try sandbox.repository.git("branch", "-m", "renamed", "users-name")
        try Shell.check(["git", "-C", sandbox.agentDirectory("nobranch") + "/workspace", "checkout", "-q", "--detach"])
        try sandbox.repository.git("branch", "-D", "nobranch")

        func problem(_ name: String) throws -> String { try sandbox.agent(name)?["problem"] as? String ?? "" }
        #expect(try problem("nofolder").contains("worktree folder is gone"))
        #expect(try problem("renamed").contains("renamed to users-name"))
        #expect(try problem("nobranch").contains("no longer exists"))
        #expect(try sandbox.check("list").contains("problem: its worktree folder is gone"))
        let doctor = try sandbox.scion("doctor")
        #expect(doctor.stdout.contains("agent nofolder") && doctor.stdout.contains("agent renamed") && doctor.stdout.contains("agent nobranch"))

        let fixed = try sandbox.scion("doctor", "--fix")
        #expect(fixed.stdout.contains("recreated agent nofolder's worktree"), "\(fixed.stdout)")
        #expect(fixed.stdout.contains("cannot fix: its branch nobranch"), "\(fixed.stdout)")
        #expect(FileManager.default.fileExists(atPath: sandbox.agentDirectory("nofolder") + "/workspace/README.md"))
        #expect(try problem("nofolder").isEmpty && problem("renamed").isEmpty)
        #expect(try sandbox.agent("renamed")?["branch"] as? String == "users-name")

        // The user renamed it: the record no longer claims scion created it
        // (the deletion policy deletes only branches scion created).
        let renamed = try String(contentsOfFile: sandbox.agentDirectory("renamed") + "/agent.json", encoding: .utf8)
        #expect(renamed.contains("\"created_branch\" : false"), "\(renamed)")
        try sandbox.check("delete", "renamed", "nobranch")

        // The repository moves: list says so, delete still cleans up.
        let moved = sandbox.repository.directory.path + "-moved"
        try FileManager.default.moveItem(atPath: sandbox.path, toPath: moved)
        defer { try? FileManager.default.moveItem(atPath: moved, toPath: sandbox.path) }
        let list = try Shell.run([BuildProducts.scion, "list", "--format", "json"], in: moved, environment: sandbox.environment)
        #expect(list.stdout.contains("the repository moved from"), "\(list.stdout + list.stderr)")
        let fix = try Shell.run([BuildProducts.scion, "doctor", "--fix"], in: moved, environment: sandbox.environment)
        #expect(fix.stdout.contains("updated agent nofolder's paths"), "\(fix.stdout)")
        #expect(try Shell.check(["git", "-C", moved + "/.scion/agents/nofolder/workspace", "status", "--short", "--branch"]).hasPrefix("## nofolder"))
        let deleted = try Shell.run([BuildProducts.scion, "delete", "nofolder"], in: moved, environment: sandbox.environment)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(try Shell.check(["git", "-C", moved, "worktree", "list"]).split(separator: "\n").count == 1)
    }
}

/// A sandbox for kill loops: runs scion as a child, kills it with a signal
/// after a delay, and checks that nothing is left.
struct KillWorld {
    let sandbox: ScionSandbox
    let engine: TestEngine?
    let state: String
    let groveId: String

    init(engine: TestEngine?) throws {
        sandbox = try ScionSandbox()
        self.engine = engine
        state = sandbox.home.path + "/state"
        try sandbox.check("config", "set", "runtimes.local.state_dir", state)
        if let engine { try engine.configure(sandbox) }
        groveId = Grove(directory: sandbox.path + "/.scion", isGlobal: false).id
    }

    enum Killed { case start, stop, delete }

    /// Kills `starts` starts, then `stops` stops and `deletes` deletes, at
    /// delays spread evenly over each range, with SIGKILL, SIGTERM and
    /// SIGHUP in turn; after each, `delete` must leave nothing and the name
    /// must start again.
    func loop(
        starts: Int, over startDelays: ClosedRange<Int>, stops: Int, over stopDelays: ClosedRange<Int>,
        deletes: Int, over deleteDelays: ClosedRange<Int>, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        func spread(_ count: Int, _ range: ClosedRange<Int>) -> [Int] {
            (0..<count).map { range.lowerBound + (range.upperBound - range.lowerBound) * $0 / max(1, count - 1) }
        }
        let plan = spread(starts, startDelays).map { (Killed.start, $0) } + spread(stops, stopDelays).map { (Killed.stop, $0) }
            + spread(deletes, deleteDelays).map { (Killed.delete, $0) }
        for (round, (what, delay)) in plan.enumerated() {
            try self.round(round, killing: what, after: delay, sourceLocation: sourceLocation)
        }
    }

    func round(_ round: Int, killing what: Killed, after delay: Int, sourceLocation: SourceLocation) throws {
        let name = "k\(round)"
        let signal = [SIGKILL, SIGTERM, SIGHUP][round % 3]
        let start = ["start", name, "--harness", "shell", "sleep 60"]
        switch what {
        case .start:
            try killed(start, after: delay, signal: signal)
        case .stop:
            try sandbox.check(start[0], start[1], start[2], start[3], start[4])
            try killed(["stop", name], after: delay, signal: signal)
        case .delete:
            try sandbox.check(start[0], start[1], start[2], start[3], start[4])
            try killed(["delete", name], after: delay, signal: signal)
        }
        let deleted = try sandbox.scion("delete", name)
        #expect(deleted.status == 0 || (deleted.status == 3 && deleted.stderr.contains("no agent")),
                "round \(round) (\(what) killed after \(delay) ms): delete after the kill: \(deleted.stderr)", sourceLocation: sourceLocation)
        try expectNothingLeft(name, round: round, sourceLocation: sourceLocation)
        let again = try sandbox.scion(start)
        #expect(again.status == 0, "round \(round) (\(what) killed after \(delay) ms): the name is not reusable: \(again.stderr)",
                sourceLocation: sourceLocation)
        try sandbox.check("delete", name)
        try expectNothingLeft(name, round: round, sourceLocation: sourceLocation)
    }

    /// Runs scion (posix_spawn, output to /dev/null), kills it after
    /// `milliseconds` with `signal`, and reaps it.
    func killed(_ arguments: [String], after milliseconds: Int, signal: Int32) throws {
        let argv = [BuildProducts.scion, "-g", sandbox.path] + arguments
        let environment = sandbox.environment.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var pid: pid_t = 0
        let cArgv = argv.map { strdup($0) } + [nil], cEnvironment = environment.map { strdup($0) } + [nil]
        defer { (cArgv + cEnvironment).forEach { free($0) } }
        guard posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnvironment) == 0 else {
            throw TestFailure("cannot run \(argv[0])")
        }
        usleep(useconds_t(milliseconds * 1000))
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    func expectNothingLeft(_ name: String, round: Int, sourceLocation: SourceLocation) throws {
        let folder = sandbox.agentDirectory(name)
        #expect(!FileManager.default.fileExists(atPath: folder), "round \(round): \(folder) is left", sourceLocation: sourceLocation)
        #expect(Shell.eventually(timeout: 5) { Self.processes(mentioning: folder).isEmpty && Self.processes(mentioning: state).isEmpty },
                "round \(round): processes left: \(Self.processes(mentioning: sandbox.path))", sourceLocation: sourceLocation)
        let stateEntries = (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []
        #expect(stateEntries.isEmpty, "round \(round): local state left: \(stateEntries)", sourceLocation: sourceLocation)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/.git/worktrees")) ?? []
        #expect(entries.isEmpty, "round \(round): worktree entries left: \(entries)", sourceLocation: sourceLocation)
        #expect(try sandbox.repository.branches() == ["main"], "round \(round): branches left", sourceLocation: sourceLocation)
        if let engine {
            let containers = try engine.containers(label: "scion.grove_id=\(groveId)")
                + engine.containers(label: "scion.grove_path=\(sandbox.path)/.scion")
            #expect(containers.isEmpty, "round \(round): containers left: \(containers)", sourceLocation: sourceLocation)
        }
    }

    /// Processes of this user whose command line or environment names `path`.
    static func processes(mentioning path: String) -> [String] {
        let own = String(getpid())
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) && $0 != own }.compactMap { pid in
            let texts = ["cmdline", "environ"].compactMap { FileManager.default.contents(atPath: "/proc/\(pid)/\($0)") }
                .map { String(decoding: $0, as: UTF8.self) }
            guard texts.contains(where: { $0.contains(path) }) else { return nil }
            return "\(pid): " + (texts.first ?? "").replacingOccurrences(of: "\0", with: " ")
        }
    }
}
