import Foundation
import ScionPluginKit

/// A runtime plugin over any ContainerEngine: the runtime operations
/// expressed once, in terms of the few things an engine does.
///
/// Handles are container IDs; every request also works with the container
/// name (`<grove>--<agent>`) when the handle is empty. Requests may carry
/// `runtime_config` (the `runtimes.<name>` settings entry) to reach an
/// engine other than the default one.
public struct ContainerRuntime<Engine: ContainerEngine>: RuntimePlugin {
    public let description: PluginDescription

    public init(description: PluginDescription) {
        self.description = description
    }

    public func capabilities() throws -> RuntimeCapabilities {
        RuntimeCapabilities(needsImage: true, isolated: true)
    }

    public func run(_ spec: RunSpec, progress: EventSink) throws -> RunResult {
        let plan = try ContainerRunPlan(spec: spec, runtime: description.name)
        let engine = try Engine(runtimeConfig: spec.runtimeConfig)
        if engine.isLocal {
            for bind in plan.binds where !FileManager.default.fileExists(atPath: bind.source) {
                throw PluginError(
                    .failedPrecondition,
                    "cannot mount \(bind.source) into agent \(spec.agent)'s container: it does not exist on this machine",
                    details: ["path": .string(bind.source)])
            }
        }
        try prepareHome(plan)
        let startTimeout = spec.runtimeConfig["start_timeout"]?.stringValue.flatMap(Double.init) ?? 30
        PluginLog.debug("\(Engine.program): running \(plan.name) at \(engine.endpoint): \(plan.summary)")
        let started = Date()
        let id = try engine.run(plan)
        let running = Date()
        try waitForSession(plan, id: id, engine: engine, timeout: startTimeout)
        PluginLog.debug(
            "\(Engine.program): started \(plan.name) (\(id.prefix(12))) from \(plan.image) in \(Self.milliseconds(started, Date())) ms "
                + "(container running after \(Self.milliseconds(started, running)) ms, session ready \(Self.milliseconds(running, Date())) ms later)")
        return RunResult(handle: id)
    }

    public func stop(_ request: StopRequest) throws {
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        // Stopping an agent that has no container is done, not an error
        // (idempotent, like delete; `scion plugins check` tests it).
        do {
            try engine.stop(reference(request.name, request.handle), timeoutSeconds: max(0, request.timeoutSeconds))
        } catch let error as PluginError where error.code == .notFound {
            return
        }
    }

    public func delete(_ target: AgentTarget) throws {
        let engine = try Engine(runtimeConfig: target.runtimeConfig ?? [:])
        try engine.remove(reference(target.name, target.handle))
    }

    public func list(_ request: ListRequest) throws -> ListResponse {
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        let containers = try engine.list(labels: request.labels).filter { container in
            request.labels.allSatisfy { container.labels[$0.key] == $0.value }
        }
        return ListResponse(agents: containers.map(\.runtimeAgent))
    }

    public func status(_ target: AgentTarget) throws -> RuntimeAgent {
        let engine = try Engine(runtimeConfig: target.runtimeConfig ?? [:])
        guard let container = try engine.inspect(reference(target.name, target.handle)) else {
            return RuntimeAgent(
                name: target.name, handle: target.handle, state: .missing,
                detail: "no \(Engine.program) container \(reference(target.name, target.handle))")
        }
        return container.runtimeAgent
    }

    public func logs(_ request: LogsRequest, sink: EventSink) throws {
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        let ref = reference(request.name, request.handle)
        guard let container = try engine.inspect(ref) else {
            throw ContainerErrors.noContainer(request.name, reference: ref, program: Engine.program)
        }
        guard let home = container.home else {
            throw PluginError(
                .failedPrecondition,
                "container \(container.name) has no \(ContainerRunPlan.homeLabel) label: it was not started by scion")
        }
        try AgentLogFile(home: home).stream(
            tail: request.tail, follow: request.follow && container.isRunning, sink: sink,
            isAlive: { try engine.inspect(ref)?.isRunning ?? false })
    }

    public func exec(_ request: ExecRequest) throws -> ExecResult {
        guard !request.argv.isEmpty else {
            throw PluginError(.invalidArgument, "exec in agent \(request.name) needs a command")
        }
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        return try engine.exec(
            reference(request.name, request.handle), argv: request.argv, stdin: request.input)
    }

    public func attachCommand(_ target: AgentTarget) throws -> AttachCommand {
        let engine = try Engine(runtimeConfig: target.runtimeConfig ?? [:])
        let ref = reference(target.name, target.handle)
        guard let container = try engine.inspect(ref) else {
            throw ContainerErrors.noContainer(target.name, reference: ref, program: Engine.program)
        }
        guard container.isRunning else { throw ContainerErrors.notRunning(target.name, state: container.status) }
        return AttachCommand(argv: engine.attachArgv(container.name, session: SessionLayout().session))
    }

    public func imageExists(_ request: ImageRequest) throws -> ImageExists {
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        return ImageExists(exists: try engine.imageExists(request.image))
    }

    public func pullImage(_ request: ImageRequest, progress: EventSink) throws {
        let engine = try Engine(runtimeConfig: request.runtimeConfig ?? [:])
        try engine.pullImage(request.image, progress: progress)
    }

    static func milliseconds(_ from: Date, _ to: Date) -> Int { Int(to.timeIntervalSince(from) * 1000) }

    /// The handle (container ID) when there is one, else the name.
    func reference(_ name: String, _ handle: String) -> String {
        handle.isEmpty ? name : handle
    }

    /// Returns once the agent's tmux session is up (its ready marker exists
    /// in the home), so the host can look at it or type into it at once.
    /// A container that ends first is removed and its last output reported.
    func waitForSession(
        _ plan: ContainerRunPlan, id: String, engine: Engine, timeout: TimeInterval = 30
    ) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastInspect = Date()
        while true {
            // A remote engine's containers do not see this machine's files:
            // a running container is all that can be checked.
            if engine.isLocal, UntrustedDirectory(plan.home).exists(ContainerRunPlan.readyPath) { return }
            if !engine.isLocal || Date().timeIntervalSince(lastInspect) >= 0.1 {
                lastInspect = Date()
                let state = try engine.inspect(id)
                if !engine.isLocal && state?.isRunning == true { return }
                if state == nil || state?.agentState == .stopped {
                    let output = engine.recentOutput(id, lines: 20).trimmingCharacters(in: .whitespacesAndNewlines)
                    try? engine.remove(id)
                    let reason = output.isEmpty ? (state?.error ?? "the container exited") : output
                    throw ContainerErrors.sessionFailed(plan.image, agent: plan.agent, reason: reason)
                }
            }
            guard Date() < deadline else {
                PluginLog.warning(
                    "\(Engine.program): the tmux session of agent \(plan.agent) has not marked itself ready after \(Int(timeout)) s (can the container's user write \(plan.home)/.scion?); carrying on")
                return
            }
            usleep(5_000)
        }
    }

    /// The home is a host directory: make the place tmux logs to, and clear
    /// the previous run's exit status and ready marker.
    /// The agent controls its home: nothing here follows a link it planted.
    func prepareHome(_ plan: ContainerRunPlan) throws {
        let home = UntrustedDirectory(plan.home)
        do {
            try home.createDirectory(".scion")
        } catch let error as PluginError where error.code == .permissionDenied {
            throw error
        } catch {
            throw PluginError(.failedPrecondition, "cannot prepare agent home \(plan.home): \(error)")
        }
        try home.remove(Tmux.exitPath)
        try home.remove(ContainerRunPlan.readyPath)
        try HarnessLaunch.write(plan.harnessCommand, home: plan.home, environment: plan.secrets)
        // An agent user other than the host's (run_as_user) must read what
        // was just written; the core gave it the rest of its home.
        if let ids = plan.user.flatMap(AgentUser.parse), ids.uid != getuid() || ids.gid != getgid() {
            try AgentUser.giveOwnership(of: plan.home + "/.scion", uid: ids.uid, gid: ids.gid)
        }
    }
}
