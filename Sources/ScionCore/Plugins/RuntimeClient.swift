import Foundation
import ScionPluginKit

/// Typed calls into a runtime plugin.
public struct RuntimeClient: Sendable {
    public let connection: PluginConnection
    public var name: String { connection.plugin.manifest.name }

    public init(_ connection: PluginConnection) {
        self.connection = connection
    }

    public func capabilities() throws -> RuntimeCapabilities { try connection.call("capabilities", Empty()) }
    public func run(_ spec: RunSpec, progress: ((ProgressEvent) -> Void)? = nil) throws -> RunResult {
        try connection.call("run", spec, onEvent: progress.map { handler in
            { data in
                if let event = try? PayloadCoder.decode(data, as: ProgressEvent.self) { handler(event) }
                return true
            }
        })
    }
    public func stop(_ target: AgentTarget, timeoutSeconds: Int = 10) throws {
        let _: Empty = try connection.call("stop", StopRequest(
            name: target.name, handle: target.handle, timeoutSeconds: timeoutSeconds, runtimeConfig: target.runtimeConfig))
    }
    public func delete(_ target: AgentTarget) throws { let _: Empty = try connection.call("delete", target) }
    public func list(labels: [String: String], runtimeConfig: [String: JSONValue]? = nil) throws -> [RuntimeAgent] {
        try connection.call("list", ListRequest(labels: labels, runtimeConfig: runtimeConfig), as: ListResponse.self).agents
    }
    public func status(_ target: AgentTarget) throws -> RuntimeAgent { try connection.call("status", target) }
    public func exec(_ target: AgentTarget, _ argv: [String], stdin: String? = nil) throws -> ExecResult {
        try connection.call("exec", ExecRequest(
            name: target.name, handle: target.handle, argv: argv, stdin: stdin, runtimeConfig: target.runtimeConfig))
    }
    public func attachCommand(_ target: AgentTarget) throws -> AttachCommand { try connection.call("attach_argv", target) }
    public func imageExists(_ image: String, runtimeConfig: [String: JSONValue]?) throws -> Bool {
        try connection.call("image_exists", ImageRequest(image: image, runtimeConfig: runtimeConfig), as: ImageExists.self).exists
    }
    public func pullImage(_ image: String, runtimeConfig: [String: JSONValue]?, progress: @escaping (ProgressEvent) -> Void) throws {
        let _: Empty = try connection.call("image_pull", ImageRequest(image: image, runtimeConfig: runtimeConfig)) { data in
            if let event = try? PayloadCoder.decode(data, as: ProgressEvent.self) { progress(event) }
            return true
        }
    }
    /// Streams the log; `chunk` returns false to stop following.
    public func logs(_ request: LogsRequest, chunk: @escaping (String) -> Bool) throws {
        let _: Empty = try connection.call("logs", request) { data in
            guard let event = try? PayloadCoder.decode(data, as: LogChunk.self) else { return true }
            return chunk(event.text)
        }
    }
}

/// Typed calls into a harness plugin.
public struct HarnessClient: Sendable {
    public let connection: PluginConnection

    public init(_ connection: PluginConnection) {
        self.connection = connection
    }

    public func describe() throws -> HarnessDescription { try connection.call("describe", Empty()) }
    public func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth { try connection.call("resolve_auth", request) }
    public func provision(_ request: ProvisionRequest) throws -> Provision { try connection.call("provision", request) }
    public func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate { try connection.call("normalize_hook", event) }
}
