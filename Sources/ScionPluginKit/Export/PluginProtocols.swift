import Foundation

/// A runtime plugin: where agents run. Implement the operations the runtime
/// supports; the defaults answer `unsupported`.
public protocol RuntimePlugin: PluginInstancing {
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
public protocol HarnessPlugin: PluginInstancing {
    var description: HarnessDescription { get }
    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth
    func provision(_ request: ProvisionRequest) throws -> Provision
    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate
}

/// Instances (scion_plugin.h section 7): the host makes one per
/// configuration with `configured(_:)` and ends it with `shutdown()` at
/// exit. The defaults keep one stateless value.
public protocol PluginInstancing: Sendable {
    /// A value for one configuration (the `runtimes.<name>` entry): open a
    /// connection, read a token, once.
    func configured(_ configuration: [String: JSONValue]) throws -> Self
    /// Ends what `configured` opened; called once, at the host's exit.
    func shutdown()
}

extension PluginInstancing {
    public func configured(_ configuration: [String: JSONValue]) throws -> Self { self }
    public func shutdown() {}
}

/// The operations of one plugin instance, by ABI operation name.
struct OperationTable: Sendable {
    typealias Call = @Sendable (Data, EventSink) throws -> Data
    let name: String
    let operations: [String: Call]
    let configure: @Sendable ([String: JSONValue]) throws -> OperationTable
    let shutdown: @Sendable () -> Void

    /// Decodes a request, naming the operation and field when it is malformed.
    static func request<T: Decodable>(_ data: Data, _ operation: String) throws -> T {
        do {
            return try PayloadCoder.decode(data)
        } catch let error as PayloadError {
            throw PluginError(.invalidArgument, "malformed \(operation) request: \(error)")
        }
    }

    init(runtime plugin: some RuntimePlugin) {
        typealias Op = PluginOperation
        name = plugin.description.name
        var operations: [String: Call] = [
            Op.capabilities: { _, _ in try PayloadCoder.encode(plugin.capabilities()) },
            Op.run: { data, sink in try PayloadCoder.encode(plugin.run(OperationTable.request(data, Op.run), progress: sink)) },
            Op.stop: { data, _ in try plugin.stop(OperationTable.request(data, Op.stop)); return try PayloadCoder.encode(Empty()) },
            Op.delete: { data, _ in try plugin.delete(OperationTable.request(data, Op.delete)); return try PayloadCoder.encode(Empty()) },
            Op.list: { data, _ in try PayloadCoder.encode(plugin.list(OperationTable.request(data, Op.list))) },
            Op.status: { data, _ in try PayloadCoder.encode(plugin.status(OperationTable.request(data, Op.status))) },
            Op.logs: { data, sink in try plugin.logs(OperationTable.request(data, Op.logs), sink: sink); return try PayloadCoder.encode(Empty()) },
            Op.exec: { data, _ in try PayloadCoder.encode(plugin.exec(OperationTable.request(data, Op.exec))) },
            Op.attachArgv: { data, _ in try PayloadCoder.encode(plugin.attachCommand(OperationTable.request(data, Op.attachArgv))) },
            Op.imageExists: { data, _ in try PayloadCoder.encode(plugin.imageExists(OperationTable.request(data, Op.imageExists))) },
            Op.imagePull: { data, sink in
                try plugin.pullImage(OperationTable.request(data, Op.imagePull), progress: sink)
                return try PayloadCoder.encode(Empty())
            },
            Op.sync: { data, sink in
                try plugin.sync(OperationTable.request(data, Op.sync), progress: sink)
                return try PayloadCoder.encode(Empty())
            },
            PluginOperation.readAgentFile: { data, _ in try PayloadCoder.encode(plugin.readAgentFile(PayloadCoder.decode(data))) },
            PluginOperation.writeAgentFile: { data, _ in
                try plugin.writeAgentFile(PayloadCoder.decode(data))
                return try PayloadCoder.encode(Empty())
            },
        ]
        // `describe` lists what the plugin really does: image and sync
        // operations only where its capabilities say so.
        var supported = Set(operations.keys).union([Op.describe])
        if let capabilities = try? plugin.capabilities() {
            if !capabilities.needsImage { supported.subtract([Op.imageExists, Op.imagePull]) }
            if !capabilities.sync { supported.remove(Op.sync) }
        }
        let listed = supported.sorted()
        operations[Op.describe] = { _, _ in
            var description = plugin.description
            description.operations = listed
            return try PayloadCoder.encode(description)
        }
        self.operations = operations
        configure = { configuration in OperationTable(runtime: try plugin.configured(configuration)) }
        shutdown = { plugin.shutdown() }
    }

    init(harness plugin: some HarnessPlugin) {
        typealias Op = PluginOperation
        name = plugin.description.plugin.name
        let listed = [Op.describe, Op.resolveAuth, Op.provision, Op.normalizeHook].sorted()
        operations = [
            Op.describe: { _, _ in
                var description = plugin.description
                description.plugin.operations = listed
                return try PayloadCoder.encode(description)
            },
            Op.resolveAuth: { data, _ in try PayloadCoder.encode(plugin.resolveAuth(OperationTable.request(data, Op.resolveAuth))) },
            Op.provision: { data, _ in try PayloadCoder.encode(plugin.provision(OperationTable.request(data, Op.provision))) },
            Op.normalizeHook: { data, _ in try PayloadCoder.encode(plugin.normalizeHook(OperationTable.request(data, Op.normalizeHook))) },
        ]
        configure = { configuration in OperationTable(harness: try plugin.configured(configuration)) }
        shutdown = { plugin.shutdown() }
    }
}
