import Foundation
import ScionPluginKit

/// Typed calls into a runtime plugin, on one of its instances.
public struct RuntimeClient: Sendable {
    public typealias Op = PluginOperation
    public let connection: PluginConnection
    /// The instance calls go to: the default one, or the one made for a configuration.
    public let instance: PluginInstanceHandle
    public var name: String { connection.plugin.manifest.name }

    public init(_ connection: PluginConnection) {
        self.connection = connection
        self.instance = connection.defaultInstance
    }

    /// A client on the plugin's instance for `configuration` (the
    /// `runtimes.<name>` entry): made once per process, destroyed at exit.
    public init(_ connection: PluginConnection, configuration: [String: JSONValue]) throws {
        self.connection = connection
        self.instance = try connection.instance(configuration: configuration)
    }

    func call<Request: Encodable, Response: Decodable>(
        _ operation: String, _ request: Request, as: Response.Type = Response.self,
        cancellation: PluginCancellation? = nil, onEvent: ((Data) -> Bool)? = nil
    ) throws -> Response {
        try connection.call(operation, request, on: instance, cancellation: cancellation, onEvent: onEvent)
    }

    public func describe() throws -> PluginDescription { try call(Op.describe, Empty()) }
    public func capabilities() throws -> RuntimeCapabilities { try call(Op.capabilities, Empty()) }
    public func run(_ spec: RunSpec, progress: ((ProgressEvent) -> Void)? = nil) throws -> RunResult {
        try call(Op.run, spec, onEvent: progress.map { handler in
            { data in
                if let event = try? PayloadCoder.decode(data, as: ProgressEvent.self) { handler(event) }
                return true
            }
        })
    }
    public func stop(_ target: AgentTarget, timeoutSeconds: Int = 10) throws {
        let _: Empty = try call(Op.stop, StopRequest(
            name: target.name, handle: target.handle, timeoutSeconds: timeoutSeconds, runtimeConfig: target.runtimeConfig))
    }
    public func delete(_ target: AgentTarget) throws { let _: Empty = try call(Op.delete, target) }
    public func list(labels: [String: String], runtimeConfig: [String: JSONValue]? = nil) throws -> [RuntimeAgent] {
        try call(Op.list, ListRequest(labels: labels, runtimeConfig: runtimeConfig), as: ListResponse.self).agents
    }
    public func status(_ target: AgentTarget) throws -> RuntimeAgent { try call(Op.status, target) }
    public func exec(_ target: AgentTarget, _ argv: [String], stdin: String? = nil) throws -> ExecResult {
        try exec(target, argv, input: stdin.map { Data($0.utf8) })
    }
    /// Runs `argv` in the agent with `input` byte for byte (base64 on the
    /// wire, and as text too for 1.0 plugins when it is UTF-8).
    public func exec(_ target: AgentTarget, _ argv: [String], input: Data?) throws -> ExecResult {
        try call(Op.exec, ExecRequest(
            name: target.name, handle: target.handle, argv: argv, input: input, runtimeConfig: target.runtimeConfig))
    }
    public func attachCommand(_ target: AgentTarget) throws -> AttachCommand { try call(Op.attachArgv, target) }
    public func imageExists(_ image: String, runtimeConfig: [String: JSONValue]?) throws -> Bool {
        try call(Op.imageExists, ImageRequest(image: image, runtimeConfig: runtimeConfig), as: ImageExists.self).exists
    }
    public func pullImage(_ image: String, runtimeConfig: [String: JSONValue]?, progress: @escaping (ProgressEvent) -> Void) throws {
        let _: Empty = try call(Op.imagePull, ImageRequest(image: image, runtimeConfig: runtimeConfig)) { data in
            if let event = try? PayloadCoder.decode(data, as: ProgressEvent.self) { progress(event) }
            return true
        }
    }
    /// Moves the agent's branch to or from a remote instance, streaming progress.
    public func sync(_ request: SyncRequest, progress: ((ProgressEvent) -> Void)?) throws {
        let _: Empty = try call(Op.sync, request) { data in
            if let event = try? PayloadCoder.decode(data, as: ProgressEvent.self) { progress?(event) }
            return true
        }
    }
    /// A file of the agent's home, for runtimes that do not share the host's paths.
    public func readAgentFile(_ request: AgentFileRequest) throws -> AgentFileContents {
        try call(Op.readAgentFile, request)
    }
    public func writeAgentFile(_ request: AgentFileRequest) throws {
        let _: Empty = try call(Op.writeAgentFile, request)
    }
    /// Streams the log; `chunk` returns false to stop following, and
    /// `cancellation` ends the call from another thread (a signal, a client gone).
    public func logs(
        _ request: LogsRequest, cancellation: PluginCancellation? = nil, chunk: @escaping (String) -> Bool
    ) throws {
        let _: Empty = try call(Op.logs, request, cancellation: cancellation) { data in
            guard let event = try? PayloadCoder.decode(data, as: LogChunk.self) else { return true }
            return chunk(event.text)
        }
    }
}

/// Typed calls into a harness plugin.
public struct HarnessClient: Sendable {
    public typealias Op = PluginOperation
    public let connection: PluginConnection

    public init(_ connection: PluginConnection) {
        self.connection = connection
    }

    public func describe() throws -> HarnessDescription { try connection.call(Op.describe, Empty()) }
    public func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth { try connection.call(Op.resolveAuth, request) }
    public func provision(_ request: ProvisionRequest) throws -> Provision { try connection.call(Op.provision, request) }
    public func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate { try connection.call(Op.normalizeHook, event) }
}
