import Foundation
import ScionPluginKit

/// Each agent gets its own tmux server: TMUX_TMPDIR points at a private
/// directory (the agent's handle), so the agent's own `tmux` calls, `look`,
/// `message` and `attach` all reach that server and no other.
struct LocalRuntime: RuntimePlugin {
    let description = PluginDescription(
        name: "local", kind: "runtime", version: "0.1.0",
        description: "agents as host processes, each in its own tmux server"
    )

    func capabilities() throws -> RuntimeCapabilities {
        RuntimeCapabilities(needsImage: false, isolated: false)
    }

    func run(_ spec: RunSpec, progress: EventSink) throws -> RunResult {
        let agent = LocalAgentDirectory(base: try baseDirectory(spec.runtimeConfig), home: spec.home)
        if agent.serverIsAlive {
            throw PluginError(.alreadyExists, "agent \(spec.agent) already has a running tmux server at \(agent.path)")
        }
        try agent.create(record: LocalAgentRecord(name: spec.name, labels: spec.labels, home: spec.home, workdir: spec.workdir))
        let home = UntrustedDirectory(spec.home)
        try home.createDirectory(".scion")
        try home.remove(Tmux.exitPath)
        try HarnessLaunch.write(spec.command, home: spec.home)

        var environment = spec.env
        environment["HOME"] = spec.home
        environment["TMUX_TMPDIR"] = agent.path
        environment["PATH"] = environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["TERM"] = environment["TERM"] ?? "xterm-256color"
        environment["SHELL"] = environment["SHELL"] ?? "/bin/sh"
        environment["USER"] = environment["USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "agent"
        let argv = agent.tmux(["-f", spec.session.configFile ?? "/dev/null"])
            + Tmux.newSession(spec.session, workdir: spec.workdir, detached: true)
        let output = try Subprocess.run(argv, environment: environment, workingDirectory: spec.workdir)
        guard output.status == 0 else {
            try? agent.remove()
            throw PluginError(.internal, "tmux could not start agent \(spec.agent): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return RunResult(handle: agent.path)
    }

    func stop(_ request: StopRequest) throws {
        let agent = try LocalAgentDirectory(handle: request.handle)
        guard agent.serverIsAlive else { return }
        _ = try Subprocess.run(agent.tmux(["kill-server"]), environment: agent.clientEnvironment)
    }

    func delete(_ target: AgentTarget) throws {
        let agent = try directory(target)
        // Move the folder aside first: a tmux server that a killed start's
        // client is still bringing up then finds no folder to bind its
        // socket in, and one that bound a moment ago moves along with it,
        // where kill-server reaches it (removing the folder under a live
        // server would leave it running, unreachable).
        guard let retired = try agent.retire() else { return }
        for attempt in 0..<4 {
            if retired.serverIsAlive {
                try retired.killServer()
            } else if attempt > 0 {
                break
            }
            usleep(50_000)
        }
        try retired.remove()
    }

    func list(_ request: ListRequest) throws -> ListResponse {
        let base = try baseDirectory(request.runtimeConfig ?? [:])
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        let agents = entries.compactMap { entry -> RuntimeAgent? in
            let agent = LocalAgentDirectory(path: base + "/" + entry)
            guard let record = agent.record,
                  request.labels.allSatisfy({ record.labels[$0.key] == $0.value })
            else { return nil }
            return agent.state(record)
        }
        return ListResponse(agents: agents)
    }

    func status(_ target: AgentTarget) throws -> RuntimeAgent {
        let agent = try directory(target)
        guard let record = agent.record else {
            // A start killed between making the folder and writing its record
            // left it, and nothing lists a folder without a record: the
            // host's lookup by home (an empty handle, under the agent's
            // lock, no start of it running) removes it.
            if target.handle.isEmpty { try agent.removeIfHalfMade() }
            return RuntimeAgent(name: target.name, handle: target.handle, state: .missing)
        }
        return agent.state(record)
    }

    func logs(_ request: LogsRequest, sink: EventSink) throws {
        let agent = try LocalAgentDirectory(handle: request.handle)
        guard let record = agent.record else {
            throw PluginError(.notFound, "agent \(request.name) has no local runtime state at \(request.handle)")
        }
        try AgentLogFile(home: record.home).stream(
            tail: request.tail, follow: request.follow, sink: sink, isAlive: { agent.serverIsAlive })
    }

    func exec(_ request: ExecRequest) throws -> ExecResult {
        let agent = try LocalAgentDirectory(handle: request.handle)
        guard let record = agent.record else {
            throw PluginError(.notFound, "agent \(request.name) has no local runtime state at \(request.handle)")
        }
        var environment = agent.clientEnvironment
        environment["HOME"] = record.home
        // tmux commands go to the agent's own server, named explicitly.
        let argv = request.argv.first == "tmux" ? agent.tmux(Array(request.argv.dropFirst())) : request.argv
        let output = try Subprocess.run(
            argv, environment: environment, input: request.input,
            workingDirectory: record.workdir)
        return ExecResult(exitCode: Int(output.status), output: output.stdout, errorOutput: output.stderr)
    }

    func attachCommand(_ target: AgentTarget) throws -> AttachCommand {
        let agent = try LocalAgentDirectory(handle: target.handle)
        guard agent.serverIsAlive else {
            throw PluginError(.failedPrecondition, "agent \(target.name) is not running")
        }
        return AttachCommand(argv: agent.tmux(Tmux.attach(SessionLayout())), env: ["TMUX_TMPDIR": agent.path])
    }

    /// The agent's directory: its handle, or (handle empty, as after a
    /// start killed before the host saved the handle) the one derived from
    /// its home, exactly as `run` derives it.
    private func directory(_ target: AgentTarget) throws -> LocalAgentDirectory {
        if target.handle.isEmpty, let home = target.home, home.hasPrefix("/") {
            return LocalAgentDirectory(base: try baseDirectory(target.runtimeConfig ?? [:]), home: home)
        }
        return try LocalAgentDirectory(handle: target.handle)
    }

    /// `state_dir` (the host expands `~` and refuses relative paths with the
    /// settings file and line; this is the last line of defence).
    private func baseDirectory(_ config: [String: JSONValue]) throws -> String {
        guard let configured = config["state_dir"]?.stringValue.flatMap({ $0.isEmpty ? nil : $0 }) else {
            return LocalAgentDirectory.defaultBase
        }
        let expanded = TildePath.expand(configured, home: nil)
        guard expanded.hasPrefix("/"), !expanded.split(separator: "/").contains("..") else {
            throw PluginError(
                .invalidArgument,
                "runtimes.<name>.state_dir must be an absolute path (or start with ~/), not \"\(configured)\"")
        }
        return expanded
    }
}
