import Foundation

/// A runtime plugin: where agents run. Implement the operations the runtime
/// supports; the defaults answer `unsupported`.
public protocol RuntimePlugin: Sendable {
    var description: PluginDescription { get }
    func capabilities() throws -> RuntimeCapabilities
    func run(_ spec: RunSpec, progress: EventSink) throws -> RunResult
    func stop(_ request: StopRequest) throws
    func delete(_ target: AgentTarget) throws
    func list(_ request: ListRequest) throws -> ListResponse
    func status(_ target: AgentTarget) throws -> RuntimeAgent
    func logs(_ request: LogsRequest, sink: EventSink) throws
    func exec(_ request: ExecRequest) throws -> ExecResult
    func attachCommand(_ target: AgentTarget) throws -> AttachCommand
    func imageExists(_ request: ImageRequest) throws -> ImageExists
    func pullImage(_ request: ImageRequest, progress: EventSink) throws
    func sync(_ request: SyncRequest, progress: EventSink) throws
    func readAgentFile(_ request: AgentFileRequest) throws -> AgentFileContents
    func writeAgentFile(_ request: AgentFileRequest) throws
}

extension RuntimePlugin {
    public func imageExists(_ request: ImageRequest) throws -> ImageExists {
        throw PluginError(.unsupported, "the \(description.name) runtime does not use images")
    }

    public func pullImage(_ request: ImageRequest, progress: EventSink) throws {
        throw PluginError(.unsupported, "the \(description.name) runtime does not use images")
    }

    public func sync(_ request: SyncRequest, progress: EventSink) throws {
        throw PluginError(.unsupported, "the \(description.name) runtime shares the host's files; there is nothing to sync")
    }
}

/// A harness plugin: which agent program runs and how.
public protocol HarnessPlugin: Sendable {
    var description: HarnessDescription { get }
    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth
    func provision(_ request: ProvisionRequest) throws -> Provision
    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate
}

/// The operations of one plugin instance, by ABI operation name.
struct OperationTable: Sendable {
    typealias Operation = @Sendable (Data, EventSink) throws -> Data
    let name: String
    let operations: [String: Operation]

    init(runtime plugin: some RuntimePlugin) {
        name = plugin.description.name
        operations = [
            "describe": { _, _ in try PayloadCoder.encode(plugin.description) },
            "capabilities": { _, _ in try PayloadCoder.encode(plugin.capabilities()) },
            "run": { data, sink in try PayloadCoder.encode(plugin.run(PayloadCoder.decode(data), progress: sink)) },
            "stop": { data, _ in try plugin.stop(PayloadCoder.decode(data)); return try PayloadCoder.encode(Empty()) },
            "delete": { data, _ in try plugin.delete(PayloadCoder.decode(data)); return try PayloadCoder.encode(Empty()) },
            "list": { data, _ in try PayloadCoder.encode(plugin.list(PayloadCoder.decode(data))) },
            "status": { data, _ in try PayloadCoder.encode(plugin.status(PayloadCoder.decode(data))) },
            "logs": { data, sink in try plugin.logs(PayloadCoder.decode(data), sink: sink); return try PayloadCoder.encode(Empty()) },
            "exec": { data, _ in try PayloadCoder.encode(plugin.exec(PayloadCoder.decode(data))) },
            "attach_argv": { data, _ in try PayloadCoder.encode(plugin.attachCommand(PayloadCoder.decode(data))) },
            "image_exists": { data, _ in try PayloadCoder.encode(plugin.imageExists(PayloadCoder.decode(data))) },
            "image_pull": { data, sink in
                try plugin.pullImage(PayloadCoder.decode(data), progress: sink)
                return try PayloadCoder.encode(Empty())
            },
            "sync": { data, sink in
                try plugin.sync(PayloadCoder.decode(data), progress: sink)
                return try PayloadCoder.encode(Empty())
            },
            "read_agent_file": { data, _ in try PayloadCoder.encode(plugin.readAgentFile(PayloadCoder.decode(data))) },
            "write_agent_file": { data, _ in
                try plugin.writeAgentFile(PayloadCoder.decode(data))
                return try PayloadCoder.encode(Empty())
            },
        ]
    }

    init(harness plugin: some HarnessPlugin) {
        name = plugin.description.plugin.name
        operations = [
            "describe": { _, _ in try PayloadCoder.encode(plugin.description) },
            "resolve_auth": { data, _ in try PayloadCoder.encode(plugin.resolveAuth(PayloadCoder.decode(data))) },
            "provision": { data, _ in try PayloadCoder.encode(plugin.provision(PayloadCoder.decode(data))) },
            "normalize_hook": { data, _ in try PayloadCoder.encode(plugin.normalizeHook(PayloadCoder.decode(data))) },
        ]
    }
}
