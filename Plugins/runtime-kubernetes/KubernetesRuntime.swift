import Foundation
import ScionKubernetesClient
import ScionPluginKit

/// Agents in pods: one pod per agent, its container named `agent`, its
/// secrets in a Secret, its workspace (branch and home) carried in and out
/// through exec, since a pod does not share the host's paths.
///
/// The host makes one instance per `runtimes.<name>` configuration
/// (`configured`): it holds the client, so the connection settings and an
/// exec credential's token are worked out once per process.
struct KubernetesRuntime: RuntimePlugin {
    let description = PluginDescription(
        name: "kubernetes", kind: "runtime", version: "0.1.0",
        description: "agents in Kubernetes pods, through the API server (REST and WebSocket exec)")

    /// The configured client, or why there is none (said at first use).
    let connection: Result<KubeClient, PluginError>?

    init(connection: Result<KubeClient, PluginError>? = nil) {
        self.connection = connection
    }

    func configured(_ configuration: [String: JSONValue]) throws -> KubernetesRuntime {
        do {
            return KubernetesRuntime(connection: .success(KubeClient(access: try ClusterAccess.resolve(options: configuration))))
        } catch let error as PluginError {
            return KubernetesRuntime(connection: .failure(error))
        }
    }

    func client(_ options: [String: JSONValue]?) throws -> KubeClient {
        if let connection { return try connection.get() }
        return KubeClient(access: try ClusterAccess.resolve(options: options ?? [:]))
    }

    func capabilities() throws -> RuntimeCapabilities {
        RuntimeCapabilities(needsImage: true, remote: true, sync: true, isolated: true, sharesHostPaths: false)
    }

    // MARK: run

    func run(_ spec: RunSpec, progress: EventSink) throws -> RunResult {
        let client = try client(spec.runtimeConfig)
        let startID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let plan = try PodPlan(spec: spec, startID: startID)
        let pods = PodOperations(client: client)
        let started = Date()
        try pods.clearFinished(plan.podName, agent: spec.agent)
        try Workspace.prepareHostHome(spec)
        if let secret = plan.secretJSON, let name = plan.secretName {
            try pods.replaceSecret(name, body: secret)
        }
        do {
            try client.require("POST", client.podPath(), body: plan.podJSON, what: "create pod \(plan.podName) for agent \(spec.agent)")
            _ = progress.emit(ProgressEvent(message: "pod \(plan.podName) created in namespace \(client.namespace); waiting for it to run"))
            let timeout = spec.runtimeConfig[PodPlan.Option.startTimeout]?.stringValue.flatMap(Double.init) ?? 120
            try pods.waitUntilRunning(plan, agent: spec.agent, timeout: timeout, sink: progress)
            let running = Date()
            let workspace = Workspace(client: client, pod: plan.podName, spec: spec)
            try workspace.sendHome(tools: plan.tools)
            try workspace.sendBranchAndStart()
            try workspace.waitForSession(timeout: 30)
            PluginLog.debug(
                "kubernetes: started \(plan.podName) in \(Int(Date().timeIntervalSince(started) * 1000)) ms "
                    + "(pod running after \(Int(running.timeIntervalSince(started) * 1000)) ms, workspace and session \(Int(Date().timeIntervalSince(running) * 1000)) ms)")
        } catch {
            // Only what this start made goes: the pod and secret carry its start id.
            try? pods.deleteStarted(plan.podName, secret: plan.secretName, startID: startID)
            throw error
        }
        return RunResult(handle: plan.podName)
    }

    // MARK: stop, delete

    func stop(_ request: StopRequest) throws {
        let client = try client(request.runtimeConfig)
        try PodOperations(client: client).deleteAgent(podName(request.name, request.handle), gracePeriod: min(request.timeoutSeconds, 10))
    }

    func delete(_ target: AgentTarget) throws {
        let client = try client(target.runtimeConfig)
        try PodOperations(client: client).deleteAgent(podName(target.name, target.handle), gracePeriod: 2)
    }

    func podName(_ name: String, _ handle: String) -> String {
        handle.isEmpty ? PodPlan.objectName(name) : handle
    }

    // MARK: list, status

    func list(_ request: ListRequest) throws -> ListResponse {
        let client = try client(request.runtimeConfig)
        let agents = try PodOperations(client: client).list(labels: request.labels)
        return ListResponse(agents: agents)
    }

    func status(_ target: AgentTarget) throws -> RuntimeAgent {
        let client = try client(target.runtimeConfig)
        let name = podName(target.name, target.handle)
        guard let pod = try client.get(client.podPath(name), what: "read pod \(name)") else {
            return RuntimeAgent(
                name: target.name, handle: target.handle, state: .missing,
                detail: Workspace.lastSyncNote(home: target.home)
                    ?? "no pod \(name) in namespace \(client.namespace) (\(client.access.summary))")
        }
        var agent = PodOperations.runtimeAgent(pod)
        if agent.state == .running {
            let exit = try? client.exec(pod: name, container: PodPlan.containerName, argv: ["cat", ".scion/exit-status"].homeRelative)
            if let exit, exit.exitCode == 0 { agent.exitCode = Int(String(decoding: exit.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return agent
    }

    // MARK: logs, exec, attach

    func logs(_ request: LogsRequest, sink: EventSink) throws {
        let client = try client(request.runtimeConfig)
        let name = podName(request.name, request.handle)
        guard let pod = try client.get(client.podPath(name), what: "read pod \(name)"),
              PodOperations.runtimeAgent(pod).state == .running
        else {
            // The pod is gone: the log as the last sync brought it to the host's copy of the home.
            guard let home = request.home else { return }
            try AgentLogFile(home: home).stream(tail: request.tail, follow: false, sink: sink, isAlive: { false })
            return
        }
        var query: [(String, String)] = [("container", PodPlan.containerName)]
        if let tail = request.tail { query.append(("tailLines", String(tail))) }
        if request.follow { query.append(("follow", "true")) }
        var pending = Data()
        let response = try client.request(
            "GET", client.podPath(name) + "/log", query: query, timeoutSeconds: 0,
            onData: { data in
                pending.append(data)
                // Emit whole UTF-8 sequences only.
                var cut = pending.count
                while cut > 0, cut > pending.count - 4, pending[pending.startIndex + cut - 1] & 0xC0 == 0x80 { cut -= 1 }
                if cut > 0, pending[pending.startIndex + cut - 1] & 0x80 != 0 { cut -= 1 }
                if cut <= 0 { cut = pending.count }
                let text = String(decoding: pending.prefix(cut), as: UTF8.self)
                pending = Data(pending.dropFirst(cut))
                return sink.emit(LogChunk(text: text))
            },
            isCancelled: { sink.isCancelled })
        if !pending.isEmpty { _ = sink.emit(LogChunk(text: String(decoding: pending, as: UTF8.self))) }
        guard (200..<300).contains(response.status) || sink.isCancelled else {
            throw client.error(response, doing: "read the log of pod \(name)")
        }
    }

    func exec(_ request: ExecRequest) throws -> ExecResult {
        guard !request.argv.isEmpty else { throw PluginError(.invalidArgument, "exec in agent \(request.name) needs a command") }
        let client = try client(request.runtimeConfig)
        let outcome = try client.exec(
            pod: podName(request.name, request.handle), container: PodPlan.containerName, argv: request.argv, stdin: request.input)
        return ExecResult(exitCode: outcome.exitCode, output: outcome.stdout, errorOutput: outcome.stderr)
    }

    func attachCommand(_ target: AgentTarget) throws -> AttachCommand {
        let client = try client(target.runtimeConfig)
        let name = podName(target.name, target.handle)
        guard let pod = try client.get(client.podPath(name), what: "read pod \(name)") else {
            throw PluginError(.notFound, "agent \(target.name) has no pod \(name) in namespace \(client.namespace) (\(client.access.summary)); `scion resume \(target.name)` starts a new one")
        }
        guard PodOperations.runtimeAgent(pod).state == .running else {
            throw PluginError(.failedPrecondition, "the pod of agent \(target.name) is not running; `scion resume \(target.name)` starts a new one")
        }
        return AttachCommand(argv: try AttachHelper.argv(
            options: target.runtimeConfig ?? [:], namespace: client.namespace, pod: name, container: PodPlan.containerName,
            command: ["tmux"] + Tmux.attach(SessionLayout())))
    }

    func imageExists(_ request: ImageRequest) throws -> ImageExists {
        // The cluster pulls images itself; a missing one is reported by `run`.
        ImageExists(exists: true)
    }

    func pullImage(_ request: ImageRequest, progress: EventSink) throws {}

    // MARK: workspace and agent files

    func sync(_ request: SyncRequest, progress: EventSink) throws {
        let client = try client(request.runtimeConfig)
        guard let workdir = request.workdir, let home = request.home else {
            throw PluginError(.invalidArgument, "sync of agent \(request.name) needs the agent's workdir and home")
        }
        let workspace = Workspace(client: client, pod: podName(request.name, request.handle), workdir: workdir, home: home)
        switch request.direction {
        case .from: try workspace.syncFrom(progress: progress)
        case .to: try workspace.syncTo(progress: progress)
        }
    }

    func readAgentFile(_ request: AgentFileRequest) throws -> AgentFileContents {
        let client = try client(request.runtimeConfig)
        return try AgentFiles(client: client, pod: podName(request.name, request.handle)).read(request.checkedPath(), offset: request.offset ?? 0, waitSeconds: request.waitSeconds ?? 0)
    }

    func writeAgentFile(_ request: AgentFileRequest) throws {
        let client = try client(request.runtimeConfig)
        try AgentFiles(client: client, pod: podName(request.name, request.handle))
            .write(request.checkedPath(), data: request.data ?? Data(), append: request.append ?? false)
    }
}

extension Array where Element == String {
    /// `[program, relative path]` run from HOME: `sh -c 'cd; exec "$@"'`.
    var homeRelative: [String] { ["sh", "-c", "cd \"$HOME\" && exec \"$@\"", "scion"] + self }
}
