import Foundation
import ScionTestSupport
import Testing

/// `runtimes.<name>.run_as_user` on docker and podman (issue 14): the
/// agent's processes run as that uid:gid, scion gives it only what scion
/// made for the agent, and git in the container still commits on the
/// agent's branch through the read-only view of `.git`.
@Suite(
    "a non-root agent user in docker and podman containers", .serialized,
    .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
struct AgentUserTests {
    static let uid: UInt32 = 1000

    @Test(
        "an agent run as uid 1000 (run_as_user) is that user in its container and commits on its branch; the user's files keep their owner",
        arguments: TestEngine.allCases)
    func nonRootAgentCommits(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.repository.shareWithGroup(Self.uid)
        try sandbox.check("config", "set", "runtimes.\(engine).run_as_user", "\(Self.uid):\(Self.uid)")
        let before = try owners(sandbox.repository.path, ["README.md", ".git/config", ".git/HEAD", ".git/index", ".git"])
        let statusBefore = try sandbox.repository.git("status", "--porcelain")

        try sandbox.check(
            "start", "coder", "--harness", "shell",
            #"id -u > "$HOME/id.txt"; id -g >> "$HOME/id.txt"; echo made > made.txt && git add made.txt && git commit -q -m made-as-agent; sleep 60"#)
        #expect(Shell.eventually(timeout: 20) {
            (try? sandbox.repository.git("log", "-1", "--format=%s", "coder")) == "made-as-agent"
        }, "the non-root agent's commit is not on branch coder")
        #expect(try sandbox.repository.git("ls-tree", "--name-only", "coder").split(separator: "\n").sorted() == ["README.md", "made.txt"])
        #expect(try String(contentsOfFile: world.home("coder") + "/id.txt", encoding: .utf8) == "1000\n1000\n")
        let container = world.container("coder")
        #expect(try engine.exec(container, "id", "-u").stdout == "1000\n", "scion's own exec runs as the agent user too")
        #expect(try engine.exec(container, "git", "status", "--porcelain", "--branch").stdout == "## coder\n")
        // Its `scion` reaches the grove broker through its own socket.
        let inside = try engine.exec(container, "scion", "list", "--format", "json")
        #expect(inside.status == 0 && inside.stdout.contains("\"coder\""), "scion list as uid 1000: \(inside.stdout) \(inside.stderr)")
        #expect(try owners(world.worktree("coder"), ["made.txt", "."]) == [Self.uid, Self.uid])
        #expect(try owners(world.home("coder"), [".", ".scion/launch/0"]) == [Self.uid, Self.uid])
        // Nothing of the user's outside the agent's folders changed hands.
        #expect(try owners(sandbox.repository.path, ["README.md", ".git/config", ".git/HEAD", ".git/index", ".git"]) == before)
        #expect(try sandbox.repository.git("status", "--porcelain") == statusBefore, "the main checkout was touched")
        #expect(try sandbox.repository.git("fsck", "--no-progress").isEmpty, "the repository is not sound after the agent's commit")

        // A resumed agent is the same user and commits again.
        try sandbox.check("stop", "coder")
        try sandbox.check("resume", "coder")
        let resumed = try engine.exec(world.container("coder"), "sh", "-c", "id -u && git commit -q --allow-empty -m again && git log -1 --format=%s")
        #expect(resumed.stdout == "1000\nagain\n", "after resume: \(resumed.stdout) \(resumed.stderr)")
        try sandbox.check("stop", "coder")
    }

    @Test(
        "a non-root agent user that cannot write the repository's git folders is refused at start, naming the folder and the fix",
        arguments: TestEngine.allCases)
    func unsharedRepositoryIsRefused(engine: TestEngine) throws {
        let world = try EngineWorld(engine)
        let sandbox = world.sandbox
        try sandbox.check("config", "set", "runtimes.\(engine).run_as_user", "\(Self.uid)")
        let result = try sandbox.scion("start", "coder", "--harness", "shell", "sleep 60")
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("would run as uid 1000:1000 (run_as_user), which cannot write \(sandbox.repository.path)/.git/"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("share the repository with group 1000"), "stderr: \(result.stderr)")
        #expect(try engine.inspect(world.container("coder")) == nil, "a container was made anyway")
    }

    @Test("run_as_user must be a uid or uid:gid: config set refuses anything else", arguments: ["agent", "1000:", "0x10", "1000:1000:1"])
    func badUserIsASettingsError(value: String) throws {
        let sandbox = try ScionSandbox()
        let result = try sandbox.scion("config", "set", "runtimes.docker.run_as_user", value)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("runtimes.docker.run_as_user must be a uid or uid:gid such as \"1000\" or \"1000:1000\", not \"\(value)\""),
                "stderr: \(result.stderr)")
    }

    func owners(_ root: String, _ paths: [String]) throws -> [UInt32] {
        try paths.map { path in
            var info = stat()
            guard lstat(root + "/" + path, &info) == 0 else { throw TestFailure("no \(root)/\(path)") }
            return info.st_uid
        }
    }
}
