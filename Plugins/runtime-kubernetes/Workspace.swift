import Foundation
import ScionKubernetesClient
import ScionPluginKit

/// The agent's workspace on its travels: a pod does not see the host's
/// paths, so the home goes in as a tar stream and the branch as a git
/// bundle (both through exec stdin) at start, and the branch's new commits
/// come back as a bundle on `sync from` (the host fast-forwards the
/// agent's branch in its worktree). The pod has the same paths as the host
/// (its volumes are mounted there), so every path in the env still holds.
///
/// Commands in the pod read exactly the bytes sent (`head -c N`), so the
/// transfers work on v4 servers, which cannot say "end of stdin".
struct Workspace {
    let client: KubeClient
    let pod: String
    let workdir: String
    let home: String

    init(client: KubeClient, pod: String, workdir: String, home: String) {
        self.client = client
        self.pod = pod
        self.workdir = workdir
        self.home = home
    }

    init(client: KubeClient, pod: String, spec: RunSpec) {
        self.init(client: client, pod: pod, workdir: spec.workdir, home: spec.home)
    }

    /// Relative to HOME on the host: what the last `sync from` brought (commit and time).
    static let lastSyncPath = ".scion/last-sync"
    static let hostEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"]

    /// The host's copy of the home, before it is sent: the launch files
    /// written, the previous run's markers gone.
    static func prepareHostHome(_ spec: RunSpec) throws {
        let home = UntrustedDirectory(spec.home)
        try home.createDirectory(".scion")
        for path in [Tmux.exitPath, PodPlan.readyPath, PodPlan.workspaceReadyPath] { try home.remove(path) }
        try HarnessLaunch.write(spec.command, home: spec.home)
    }

    func exec(_ script: String, _ arguments: [String] = [], stdin: Data? = nil, what: String) throws -> ExecOutcome {
        let outcome = try client.exec(
            pod: pod, container: PodPlan.containerName, argv: ["sh", "-c", script, "scion"] + arguments, stdin: stdin, retries: 3)
        guard outcome.exitCode == 0 else {
            let reason = String(decoding: outcome.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw PluginError(.internal, "cannot \(what) in pod \(pod) (exit status \(outcome.exitCode))\(reason.isEmpty ? "" : ": \(reason)")")
        }
        return outcome
    }

    func git(_ arguments: [String], in directory: String? = nil) throws -> Subprocess.Output {
        try Subprocess.run(["git", "-C", directory ?? workdir] + arguments, environment: Self.hostEnvironment)
    }

    func hostGit(_ arguments: [String], what: String) throws -> String {
        let output = try git(arguments)
        guard output.status == 0 else {
            throw PluginError(.failedPrecondition, "cannot \(what) in \(workdir): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var branch: String { get throws { try hostGit(["symbolic-ref", "--short", "HEAD"], what: "find the agent's branch") } }

    /// The home as a tar stream (links stored as links, never followed:
    /// the home is the agent's ground), then the read-only helper files
    /// (`scion-agent`) into `.scion/bin`; extracted with -i (both archives).
    func sendHome(tools: [(source: String, name: String)]) throws {
        let tar = try Subprocess.run(["tar", "-C", home, "-cf", "-", "--exclude=./.scion/status.json", "."], environment: Self.hostEnvironment)
        guard tar.status == 0 else { throw PluginError(.internal, "cannot pack agent home \(home): \(tar.stderrText)") }
        var stream = tar.stdout
        if !tools.isEmpty {
            let staging = NSTemporaryDirectory() + "scion-kube-tools-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: staging) }
            try FileManager.default.createDirectory(atPath: staging + "/" + PodPlan.toolsPath, withIntermediateDirectories: true)
            for tool in tools {
                try FileManager.default.createSymbolicLink(atPath: staging + "/" + PodPlan.toolsPath + "/" + tool.name, withDestinationPath: tool.source)
            }
            let packed = try Subprocess.run(["tar", "-C", staging, "-chf", "-", PodPlan.toolsPath], environment: Self.hostEnvironment)
            guard packed.status == 0 else { throw PluginError(.internal, "cannot pack the agent helper: \(packed.stderrText)") }
            stream += packed.stdout
        }
        _ = try exec(
            "mkdir -p \"$HOME\" && head -c \"$1\" | tar -xmif - -C \"$HOME\" --no-same-owner --no-same-permissions 2>&1 >/dev/null | grep -v 'Ignoring unknown' >&2; exit 0",
            [String(stream.count)], stdin: stream, what: "unpack the agent's home")
    }

    /// The branch as a bundle, cloned into the workdir (the pod's own
    /// repository, with the host's commit identity), then the marker the
    /// pod's command waits for.
    func sendBranchAndStart() throws {
        let branch = try branch
        let bundle = try makeBundle(branch)
        let name = (try? hostGit(["config", "user.name"], what: "read user.name")) ?? ""
        let email = (try? hostGit(["config", "user.email"], what: "read user.email")) ?? ""
        _ = try exec(
            """
            set -e; b="$HOME/.scion/workspace.bundle"; head -c "$1" > "$b"
            if [ -d "$PWD/.git" ]; then git fetch -q "$b" "$2" && git checkout -q -B "$2" FETCH_HEAD
            else git clone -q -b "$2" "$b" "$PWD" && git remote remove origin; fi
            git config user.name "${3:-scion agent}"; git config user.email "${4:-agent@scion.invalid}"
            git update-ref refs/scion/synced HEAD; rm -f "$b"; touch "$HOME/\(PodPlan.workspaceReadyPath)"
            """,
            [String(bundle.count), branch, name, email], stdin: bundle, what: "check out branch \(branch)")
    }

    /// Waits until the pod's command has started the tmux session.
    func waitForSession(timeout: Int) throws {
        _ = try exec(
            "i=0; while [ ! -e \"$HOME/\(PodPlan.readyPath)\" ]; do i=$((i+1)); [ $i -lt $1 ] || { echo 'the tmux session did not start' >&2; exit 1; }; sleep 0.05; done",
            [String(timeout * 20)], what: "wait for the agent's tmux session")
    }

    func makeBundle(_ branch: String, in directory: String? = nil) throws -> Data {
        let path = NSTemporaryDirectory() + "scion-\(UUID().uuidString).bundle"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try git(["bundle", "create", "-q", path, branch], in: directory)
        guard output.status == 0, let data = FileManager.default.contents(atPath: path) else {
            throw PluginError(.internal, "cannot bundle branch \(branch) of \(workdir): \(output.stderrText)")
        }
        return data
    }

    // MARK: sync

    /// The pod's commits on the agent's branch come to the host's branch
    /// (a fast-forward of the worktree), with the agent's log and exit
    /// status into the host's copy of the home.
    func syncFrom(progress: EventSink) throws {
        let branch = try branch
        _ = progress.emit(ProgressEvent(message: "fetching branch \(branch) from pod \(pod)"))
        let outcome = try exec(
            "cd \"$PWD\" && git bundle create -q \"$HOME/.scion/sync.bundle\" \"$1\" >&2 && cat \"$HOME/.scion/sync.bundle\" && rm -f \"$HOME/.scion/sync.bundle\"",
            [branch], what: "bundle branch \(branch)")
        let path = NSTemporaryDirectory() + "scion-\(UUID().uuidString).bundle"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try outcome.stdout.write(to: URL(fileURLWithPath: path))
        _ = try hostGit(["fetch", "-q", path, branch], what: "fetch the pod's branch \(branch)")
        let fetched = try hostGit(["rev-parse", "FETCH_HEAD"], what: "read the fetched commit")
        let local = try hostGit(["rev-parse", "HEAD"], what: "read the branch")
        if fetched != local {
            let merge = try git(["merge", "--ff-only", "-q", fetched])
            guard merge.status == 0 else {
                throw PluginError(
                    .failedPrecondition,
                    "cannot bring the pod's commits to branch \(branch): the host's branch has moved apart from the pod's "
                        + "(\(merge.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))); `scion sync to` first, or merge by hand",
                    details: ["branch": .string(branch), "commit": .string(fetched)])
            }
        }
        _ = try? exec("git update-ref refs/scion/synced \"$1\"", [fetched], what: "mark the synced commit")
        try copyBack([Tmux.logPath, Tmux.exitPath])
        let stamp = "\(fetched) \(ISO8601DateFormatter().string(from: Date()))\n"
        try? UntrustedDirectory(home).createDirectory(".scion")
        FileManager.default.createFile(atPath: home + "/" + Self.lastSyncPath, contents: Data(stamp.utf8))
        _ = progress.emit(ProgressEvent(message: "branch \(branch) at \(fetched.prefix(12))"))
    }

    /// New host commits on the agent's branch go to the pod's branch.
    func syncTo(progress: EventSink) throws {
        let branch = try branch
        let bundle = try makeBundle(branch)
        _ = progress.emit(ProgressEvent(message: "sending branch \(branch) to pod \(pod)"))
        _ = try exec(
            """
            set -e; b="$HOME/.scion/sync.bundle"; head -c "$1" > "$b"; cd "$PWD"
            git fetch -q "$b" "$2"; rm -f "$b"; git merge --ff-only -q FETCH_HEAD
            """,
            [String(bundle.count), branch], stdin: bundle, what: "fast-forward branch \(branch) (the pod's branch has commits the host lacks: `scion sync from` first)")
    }

    /// Files of the pod's home into the host's copy (missing ones skipped).
    func copyBack(_ paths: [String]) throws {
        let files = AgentFiles(client: client, pod: pod)
        for path in paths {
            let contents = try files.read(path, offset: 0)
            guard contents.exists else { continue }
            let target = home + "/" + path
            try? FileManager.default.removeItem(atPath: target)
            FileManager.default.createFile(atPath: target, contents: contents.data)
        }
    }

    /// What `status` says for an agent whose pod is gone.
    static func lastSyncNote(home: String?) -> String? {
        guard let home, let text = UntrustedDirectory(home).text(lastSyncPath) else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2 else { return nil }
        return "the pod is gone; its branch holds what was synced last (commit \(parts[0].prefix(12)) at \(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)))"
    }
}

/// Agent files in the pod's home, through exec (binary-safe).
struct AgentFiles {
    let client: KubeClient
    let pod: String

    /// `sh -c` with $1 the path, $2 the offset, $3 seconds to wait: the
    /// size on one line, then the bytes from the offset.
    static let readScript = """
        f="$HOME/$1"
        if [ "$3" -gt 0 ] && { [ ! -f "$f" ] || [ "$(wc -c < "$f")" -eq "$2" ]; }; then
          timeout "$3" tail -c +$(($2 + 1)) -F "$f" 2>/dev/null | head -c 1 >/dev/null
        fi
        [ -f "$f" ] || exit 3; wc -c < "$f"; tail -c +$(($2 + 1)) "$f"
        """

    /// A missing file, or no pod, is `exists: false`. With `waitSeconds`,
    /// a file exactly `offset` long, or missing, is first waited on (GNU
    /// tail -F, which wakes on inotify, follows a file that appears, and
    /// ends as soon as one new byte is read), so the exec is a long poll
    /// that answers when the agent writes.
    func read(_ path: String, offset: UInt64, waitSeconds: Int = 0) throws -> AgentFileContents {
        let wait = max(0, min(waitSeconds, 60))
        let outcome: ExecOutcome
        do {
            outcome = try client.exec(
                pod: pod, container: PodPlan.containerName,
                argv: ["sh", "-c", Self.readScript, "scion", path, String(offset), String(wait)],
                // A long poll whose stream hangs (a restarted server) ends soon after its wait.
                timeoutSeconds: Double(wait) + 30, retries: 2)
        } catch let error as PluginError where error.code == .notFound {
            return AgentFileContents(exists: false)
        }
        guard outcome.exitCode == 0, let newline = outcome.stdout.firstIndex(of: 0x0A) else { return AgentFileContents(exists: false) }
        let size = UInt64(String(decoding: outcome.stdout[..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)) ?? 0
        let data = Data(outcome.stdout[outcome.stdout.index(after: newline)...])
        return AgentFileContents(exists: true, data: data, size: max(size, offset + UInt64(data.count)))
    }

    /// Writes (or appends to) a file of the pod's home; with no pod there is
    /// nothing to write to (a start sends the host's copy of the home).
    func write(_ path: String, data: Data, append: Bool) throws {
        guard let found = try client.get(client.podPath(pod), what: "read pod \(pod)"),
              PodOperations.runtimeAgent(found).state == .running
        else { return }
        let outcome = try client.exec(
            pod: pod, container: PodPlan.containerName,
            argv: ["sh", "-c", "f=\"$HOME/$1\"; mkdir -p \"$(dirname \"$f\")\"; if [ \"$3\" = 1 ]; then head -c \"$2\" >> \"$f\"; else head -c \"$2\" > \"$f\"; fi",
                   "scion", path, String(data.count), append ? "1" : "0"],
            stdin: data)
        guard outcome.exitCode == 0 else {
            throw PluginError(.internal, "cannot write \(path) in pod \(pod): \(String(decoding: outcome.stderr, as: UTF8.self))")
        }
    }
}
