import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// Agents that start, wait on and control their children (issue 11), with
/// the shell harness running scripted tasks, on the local runtime and, for
/// each engine, in containers through the grove broker.
@Suite("agents that coordinate: lineage, wait, notices, authority, limits", .serialized)
struct AgentCoordinationTests {
    enum Place: String, CaseIterable, CustomStringConvertible {
        case local, docker, podman
        var description: String { rawValue }
        var engine: TestEngine? { TestEngine(rawValue: rawValue) }
    }

    /// A sandbox on `place`; nil (the test is skipped, saying why) for an
    /// engine that SCION_TEST_ENGINES=0 excludes.
    static func sandbox(_ place: Place) throws -> ScionSandbox? {
        let sandbox = try ScionSandbox()
        if let engine = place.engine {
            guard TestEngine.enabled else { return nil }
            try engine.configure(sandbox)
        }
        return sandbox
    }

    /// The agent's home file, once it has the line `prefix...`.
    static func line(_ sandbox: ScionSandbox, _ agent: String, _ file: String, _ prefix: String, timeout: Double = 60) -> String? {
        var found: String?
        _ = Shell.eventually(timeout: timeout) {
            let text = (try? String(contentsOfFile: sandbox.agentDirectory(agent) + "/home/" + file, encoding: .utf8)) ?? ""
            found = text.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) }
            return found != nil
        }
        return found
    }

    /// What the agent's window printed (or its journal), for failure messages.
    static func window(_ sandbox: ScionSandbox, _ agent: String, _ extra: String...) -> String {
        (try? sandbox.scion(["logs", agent] + extra).stdout) ?? ""
    }

    @Test(
        "an agent's task starts a child: the child has the right parent, branches from the parent's branch, its commit lands on its branch, wait returns its outcome and the parent gets the completion notice",
        arguments: Place.allCases)
    func childOfAnAgent(place: Place) throws {
        guard let sandbox = try Self.sandbox(place) else { return }
        let parentTask = """
            echo p > p.txt && git add p.txt && git commit -q -m parent-commit
            scion start child --harness shell 'echo c > c.txt && git add c.txt && git commit -q -m child-commit'
            echo "start=$?" >> "$HOME/out.txt"
            scion wait child --timeout 60
            echo "wait=$?" >> "$HOME/out.txt"
            scion list --format json > "$HOME/list.json"; echo "list=$?" >> "$HOME/out.txt"
            sleep 60
            """
        try sandbox.check("start", "parent", "--harness", "shell", parentTask)
        #expect(Self.line(sandbox, "parent", "out.txt", "start=") == "start=0",
                "start from inside: \(Self.window(sandbox, "parent"))")
        #expect(Self.line(sandbox, "parent", "out.txt", "wait=") == "wait=0", "\(Self.window(sandbox, "parent"))")
        #expect(Self.line(sandbox, "parent", "out.txt", "list=") == "list=0")
        let child = try #require(try sandbox.agent("child"))
        #expect(child["parent"] as? String == "parent")
        let log = try sandbox.repository.git("log", "--format=%s", "child").split(separator: "\n").map(String.init)
        #expect(Array(log.prefix(2)) == ["child-commit", "parent-commit"], "the child did not branch from its parent's branch: \(log)")
        #expect(try sandbox.repository.git("log", "-1", "--format=%s", "parent") == "parent-commit")
        // The list the agent saw names the child under its parent.
        let listed = (try? String(contentsOfFile: sandbox.agentDirectory("parent") + "/home/list.json", encoding: .utf8)) ?? ""
        #expect(listed.contains(#""parent" : "parent""#) || listed.contains(#""parent":"parent""#), "list inside the agent: \(listed)")
        // The completion notice is in the parent's journal (and typed into its pane).
        #expect(Shell.eventually(timeout: 20) {
            let journal = (try? sandbox.scion("logs", "parent", "--journal").stdout) ?? ""
            return journal.contains("notice") && journal.contains("child agent child completed")
        }, "no notice: \(Self.window(sandbox, "parent", "--journal"))")
        // The plain list shows the tree; --descendants and --ancestors filter it.
        let plain = try sandbox.check("list")
        #expect(plain.contains("└─ child"), "\(plain)")
        #expect(try sandbox.check("list", "--descendants", "parent").contains("child"))
        #expect(!(try sandbox.check("list", "--ancestors", "child")).contains("child "))
        #expect(try sandbox.check("list", "--ancestors", "child").contains("parent"))
        // The parent goes only with its children.
        let refused = try sandbox.scion("delete", "--force", "parent")
        #expect(refused.status == 1 && refused.stderr.contains("has children (child)") && refused.stderr.contains("--cascade"), "\(refused.stderr)")
        let cascade = try sandbox.scion("delete", "--force", "--cascade", "parent")
        #expect(cascade.status == 0, "\(cascade.stderr)")
        #expect(try sandbox.agents().isEmpty)
    }

    @Test(
        "an agent cannot stop, wait on or delete its sibling or its parent, reach another grove or change the host's settings, and setting SCION_AGENT does not make it another agent in a container",
        arguments: Place.allCases)
    func authority(place: Place) throws {
        guard let sandbox = try Self.sandbox(place) else { return }
        let other = try ScionSandbox()
        try sandbox.check("start", "boss", "--harness", "shell", "sleep 120")
        // Agents of the user are siblings of each other; one of them tries.
        let task = """
            scion stop boss; echo "stop-sibling=$?" >> "$HOME/out.txt"
            scion wait boss --timeout 1; echo "wait-sibling=$?" >> "$HOME/out.txt"
            scion delete --force boss; echo "delete-sibling=$?" >> "$HOME/out.txt"
            SCION_AGENT=boss scion start forged --harness shell 'sleep 30'; echo "forged=$?" >> "$HOME/out.txt"
            scion -g \(other.path) list; echo "other-grove=$?" >> "$HOME/out.txt"
            scion config set default_harness_config shell; echo "config-set=$?" >> "$HOME/out.txt"
            scion look boss > /dev/null; echo "look=$?" >> "$HOME/out.txt"
            scion message boss "hello boss"; echo "message=$?" >> "$HOME/out.txt"
            scion message --broadcast "all hands"; echo "broadcast=$?" >> "$HOME/out.txt"
            scion config get harness_configs > /dev/null; echo "config-get=$?" >> "$HOME/out.txt"
            scion config get agents > /dev/null; echo "config-agents=$?" >> "$HOME/out.txt"
            scion start leak --task-file /etc/passwd; echo "task-file=$?" >> "$HOME/out.txt"
            scion stop forged; echo "stop-child=$?" >> "$HOME/out.txt"
            sleep 60
            """
        try sandbox.check("start", "rogue", "--harness", "shell", task)
        #expect(Self.line(sandbox, "rogue", "out.txt", "stop-child=") != nil, "\(Self.window(sandbox, "rogue"))")
        #expect(Self.line(sandbox, "rogue", "out.txt", "stop-sibling=") == "stop-sibling=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "wait-sibling=") == "wait-sibling=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "delete-sibling=") == "delete-sibling=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "other-grove=") == "other-grove=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "config-set=") == "config-set=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "look=") == "look=0")
        #expect(Self.line(sandbox, "rogue", "out.txt", "message=") == "message=0")
        // The delivery is in both journals.
        #expect(try sandbox.check("logs", "boss", "--journal").contains("message_received from rogue  hello boss"))
        #expect(try sandbox.check("logs", "rogue", "--journal").contains("message_sent to boss  hello boss"))
        // A broadcast reaches the others, not the sender itself.
        #expect(Self.line(sandbox, "rogue", "out.txt", "broadcast=") == "broadcast=0")
        #expect(try sandbox.check("logs", "boss", "--journal").contains("message_received from rogue  all hands"))
        #expect(!(try sandbox.check("logs", "rogue", "--journal")).contains("message_received from rogue"))
        #expect(Self.line(sandbox, "rogue", "out.txt", "forged=") == "forged=0")
        #expect(try sandbox.agent("boss")?["phase"] as? String == "running")
        #expect(Self.line(sandbox, "rogue", "out.txt", "config-get=") == "config-get=15")
        #expect(Self.line(sandbox, "rogue", "out.txt", "config-agents=") != "config-agents=15", "the limits are readable")
        if place != .local {
            // A host file is not the container agent's to read.
            #expect(Self.line(sandbox, "rogue", "out.txt", "task-file=") == "task-file=15")
            #expect(try sandbox.agent("leak") == nil)
            // In a container the broker's socket is the identity: the child is rogue's.
            #expect(try sandbox.agent("forged")?["parent"] as? String == "rogue")
            #expect(Self.line(sandbox, "rogue", "out.txt", "stop-child=") == "stop-child=0")
        }
        let journal = try sandbox.scion("logs", "rogue", "--journal", "--format", "json").stdout
        #expect(journal.components(separatedBy: #""refused""#).count - 1 >= 3, "refusals in the journal: \(journal)")
    }

    @Test("agents.max_children and agents.max_depth stop a runaway spawner, each refusal one sentence with exit 15", arguments: Place.allCases)
    func limits(place: Place) throws {
        guard let sandbox = try Self.sandbox(place) else { return }
        let bad = try sandbox.scion("config", "set", "agents.max_children", "lots")
        #expect(bad.status == 2 && bad.stderr.contains("agents.max_children must be a whole number of 0 or more"), "\(bad.stderr)")
        try sandbox.check("config", "set", "agents.max_children", "2")
        try sandbox.check("config", "set", "agents.max_depth", "1")
        let task = """
            for i in 1 2 3 4; do scion start kid$i --harness shell "scion start grandkid$i --harness shell 'sleep 30'; echo \\"grand=\\$?\\" >> \\"\\$HOME/out.txt\\"; sleep 60" 2>> "$HOME/err.txt"; echo "kid$i=$?" >> "$HOME/out.txt"; done
            sleep 90
            """
        try sandbox.check("start", "spawner", "--harness", "shell", task)
        #expect(Self.line(sandbox, "spawner", "out.txt", "kid4=") == "kid4=15", "\(Self.window(sandbox, "spawner"))")
        #expect(Self.line(sandbox, "spawner", "out.txt", "kid1=") == "kid1=0")
        #expect(Self.line(sandbox, "spawner", "out.txt", "kid2=") == "kid2=0")
        #expect(Self.line(sandbox, "spawner", "out.txt", "kid3=") == "kid3=15")
        let errors = (try? String(contentsOfFile: sandbox.agentDirectory("spawner") + "/home/err.txt", encoding: .utf8)) ?? ""
        #expect(errors.contains("error: cannot start agent kid3: agent spawner already has 2 children (kid1, kid2), its limit; delete one first (settings agents.max_children)"), "\(errors)")
        #expect(Self.line(sandbox, "kid1", "out.txt", "grand=") == "grand=15", "max_depth 1 lets no grandchild start")
        let names = try sandbox.agents().compactMap { $0["name"] as? String }.sorted()
        #expect(names == ["kid1", "kid2", "spawner"])
        _ = try sandbox.scion("delete", "--force", "--cascade", "spawner")
    }

    @Test("agents.max_per_grove limits every start, the user's too, with exit 15 and the key to change")
    func groveLimit() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("config", "set", "agents.max_per_grove", "1")
        try sandbox.check("start", "first", "--harness", "shell", "sleep 30")
        let second = try sandbox.scion("start", "second", "--harness", "shell", "sleep 30")
        #expect(second.status == 15)
        #expect(second.stderr == "error: cannot start agent second: the grove already has 1 agents, its limit (settings agents.max_per_grove)\n")
        #expect(!FileManager.default.fileExists(atPath: sandbox.agentDirectory("second")), "a refused start left its folder")
    }

    @Test("scion wait exits with the outcome: 0 completed, 12 failed, 14 timed out; scion help agents prints the agents' instructions")
    func waitOutcomes() throws {
        let sandbox = try ScionSandbox()
        for (name, task) in [("ok", "true"), ("bad", "exit 3"), ("slow", "sleep 30")] {
            try sandbox.check("start", name, "--harness", "shell", task)
        }
        let ok = try sandbox.scion("wait", "ok", "--timeout", "20s")
        #expect(ok.status == 0 && ok.stdout.contains("ok completed"), "\(ok.stdout) \(ok.stderr)")
        let bad = try sandbox.scion("wait", "bad", "--timeout", "20")
        #expect(bad.status == 12, "\(bad.stdout) \(bad.stderr)")
        let slow = try sandbox.scion("wait", "slow", "--timeout", "1")
        #expect(slow.status == 14 && slow.stdout.contains("slow timed out"))
        let both = try sandbox.scion("wait", "ok", "bad", "--format", "json")
        #expect(both.status == 12 && both.stdout.contains(#""outcome" : "failed""#), "\(both.stdout)")
        #expect(try sandbox.scion("wait", "nosuch").status == 3)
        let help = try sandbox.check("help", "agents")
        #expect(help.contains("scion wait <child>") && help.contains("scion merge <child>"))
        #expect(help.contains("exits 15"))
    }

    @Test(
        "an agent's scion forwards its standard input: `scion start child -`, `--task-file -`, `--task-file=-` and `scion message child -` work from inside the agent, the 1 MB task byte for byte",
        arguments: Place.allCases)
    func standardInputFromAnAgent(place: Place) throws {
        guard let sandbox = try Self.sandbox(place) else { return }
        // The 1 MB task is in the repository, so it is in the parent's worktree.
        let large = MessageScenarios.payload(bytes: 1024 * 1024)
        try Data(MessageScenarios.script(large, file: "got.txt").utf8).write(to: URL(fileURLWithPath: sandbox.path + "/big.sh"))
        try Data("printf eq > \"$HOME/got.txt\"; sleep 60\n".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/small.sh"))
        try Data("hello from a file".utf8).write(to: URL(fileURLWithPath: sandbox.path + "/note.txt"))
        _ = try sandbox.repository.git("add", "big.sh", "small.sh", "note.txt")
        _ = try sandbox.repository.git("commit", "-q", "-m", "tasks")
        let task = """
            printf 'printf dash > "$HOME/got.txt"; sleep 60\\n' | scion start kid1 --harness shell -; echo "dash=$?" >> "$HOME/out.txt"
            scion start kid2 --harness shell --task-file - < big.sh; echo "file-dash=$?" >> "$HOME/out.txt"
            scion start kid3 --harness shell --task-file=- < small.sh; echo "file-eq=$?" >> "$HOME/out.txt"
            printf 'hello from stdin' | scion message kid1 -; echo "message-dash=$?" >> "$HOME/out.txt"
            scion message kid3 --task-file - < note.txt; echo "message-file=$?" >> "$HOME/out.txt"
            : | scion start kid4 --harness shell - 2>> "$HOME/err.txt"; echo "empty=$?" >> "$HOME/out.txt"
            scion list > /dev/null < /dev/null; echo "list=$?" >> "$HOME/out.txt"
            sleep 90
            """
        try sandbox.check("start", "parent", "--harness", "shell", task)
        #expect(Self.line(sandbox, "parent", "out.txt", "list=", timeout: 120) == "list=0", "\(Self.window(sandbox, "parent"))")
        #expect(Self.line(sandbox, "parent", "out.txt", "dash=") == "dash=0")
        #expect(Self.line(sandbox, "parent", "out.txt", "file-dash=") == "file-dash=0")
        #expect(Self.line(sandbox, "parent", "out.txt", "file-eq=") == "file-eq=0")
        #expect(Self.line(sandbox, "parent", "out.txt", "message-dash=") == "message-dash=0")
        #expect(Self.line(sandbox, "parent", "out.txt", "message-file=") == "message-file=0")
        #expect(Self.line(sandbox, "parent", "out.txt", "empty=") == "empty=2")
        let errors = (try? String(contentsOfFile: sandbox.agentDirectory("parent") + "/home/err.txt", encoding: .utf8)) ?? ""
        #expect(errors.contains("standard input is empty: give the agent a task"), "\(errors)")
        func got(_ agent: String, _ expected: String) -> Bool {
            Shell.eventually(timeout: 30) {
                FileManager.default.contents(atPath: sandbox.agentDirectory(agent) + "/home/got.txt") == Data(expected.utf8)
            }
        }
        #expect(got("kid1", "dash"), "the task piped to `scion start kid1 -` did not arrive")
        #expect(got("kid2", large), "the 1 MB task on standard input did not arrive byte for byte")
        #expect(got("kid3", "eq"), "the task given with --task-file=- did not arrive")
        #expect(try sandbox.check("logs", "kid1", "--journal").contains("message_received from parent  hello from stdin"))
        #expect(try sandbox.check("logs", "kid3", "--journal").contains("message_received from parent  hello from a file"))
        #expect(try sandbox.agent("kid2")?["parent"] as? String == "parent")
        _ = try sandbox.scion("delete", "--force", "--cascade", "parent")
    }

    @Test(
        "an agent merges only its own descendants, into its own branch: its sibling, its parent, another grove and the user's checkout are refused with exit 15 and counted in its journal; diff works on any agent of its grove",
        arguments: Place.allCases)
    func mergeAuthority(place: Place) throws {
        guard let sandbox = try Self.sandbox(place) else { return }
        let other = try ScionSandbox()
        try sandbox.check("start", "sibling", "--harness", "shell", "echo s > s.txt && git add s.txt && git commit -q -m sibling-commit; sleep 120")
        let kidTask = "scion merge parent; echo \\\"merge-parent=\\$?\\\" >> \\\"\\$HOME/out.txt\\\"; echo k > k.txt && git add k.txt && git commit -q -m kid-commit"
        var task = """
            scion start kid --harness shell "\(kidTask)"; echo "start=$?" >> "$HOME/out.txt"
            scion wait kid --timeout 60; echo "wait=$?" >> "$HOME/out.txt"
            scion merge sibling; echo "merge-sibling=$?" >> "$HOME/out.txt"
            scion -g \(other.path) merge kid; echo "merge-other-grove=$?" >> "$HOME/out.txt"
            scion diff sibling --stat > "$HOME/diff.txt"; echo "diff-sibling=$?" >> "$HOME/out.txt"
            scion merge --abort sibling; echo "abort-sibling=$?" >> "$HOME/out.txt"

            """
        if place == .local {
            // A local agent can reach the user's checkout: it may still not merge into it.
            task += """
                (cd \(sandbox.path) && scion merge kid); echo "merge-into-user=$?" >> "$HOME/out.txt"

                """
        }
        task += """
            scion merge kid; echo "merge-child=$?" >> "$HOME/out.txt"
            sleep 60
            """
        try sandbox.check("start", "parent", "--harness", "shell", task)
        #expect(Self.line(sandbox, "parent", "out.txt", "merge-child=", timeout: 120) == "merge-child=0", "\(Self.window(sandbox, "parent"))")
        #expect(Self.line(sandbox, "parent", "out.txt", "wait=") == "wait=0", "\(Self.window(sandbox, "kid"))")
        #expect(Self.line(sandbox, "kid", "out.txt", "merge-parent=") == "merge-parent=15")
        #expect(Self.line(sandbox, "parent", "out.txt", "merge-sibling=") == "merge-sibling=15")
        #expect(Self.line(sandbox, "parent", "out.txt", "merge-other-grove=") == "merge-other-grove=15")
        #expect(Self.line(sandbox, "parent", "out.txt", "abort-sibling=") == "abort-sibling=15")
        #expect(Self.line(sandbox, "parent", "out.txt", "diff-sibling=") == "diff-sibling=0")
        let diff = (try? String(contentsOfFile: sandbox.agentDirectory("parent") + "/home/diff.txt", encoding: .utf8)) ?? ""
        #expect(diff.contains("s.txt"), "the sibling's diff: \(diff)")
        if place == .local {
            #expect(Self.line(sandbox, "parent", "out.txt", "merge-into-user=") == "merge-into-user=15")
        }
        // The child's commit is on the parent's branch, nothing of the sibling's is, and the user's branch is untouched.
        let log = try sandbox.repository.git("log", "--format=%s", "parent")
        #expect(log.contains("kid-commit") && !log.contains("sibling-commit"), "\(log)")
        #expect(!(try sandbox.repository.git("log", "--format=%s", "HEAD")).contains("kid-commit"))
        let journal = try sandbox.check("logs", "parent", "--journal")
        #expect(journal.contains("agent parent may merge only its own descendants, not sibling (its descendants: kid)"), "\(journal)")
        #expect(journal.contains("agent parent may act only in its own grove"), "\(journal)")
        if place == .local {
            #expect(journal.contains("agent parent may merge only into its own branch"), "\(journal)")
        }
        #expect(try sandbox.check("logs", "kid", "--journal").contains("agent kid may merge only its own descendants, not its ancestor parent"))
        _ = try sandbox.scion("delete", "--force", "--cascade", "parent")
        _ = try sandbox.scion("delete", "--force", "sibling")
    }
}
