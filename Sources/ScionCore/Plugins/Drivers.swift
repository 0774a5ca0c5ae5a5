import Foundation
import ScionPluginKit

/// A runtime as the lifecycle sees it, bound to one runtime's options (its
/// `runtimes.<name>` entry as the agent's spec recorded it): every call
/// carries them by construction, so `look`, `logs` and `delete` reach the
/// engine `start` used. The dlopen'd plugin (`PluginRuntimeDriver`) is one
/// implementation; tests supply in-process fakes through `DriverRegistry`.
public protocol RuntimeDriver: Sendable {
    /// The runtime plugin's name (the settings `type`).
    var name: String { get }
    /// The options every call carries.
    var options: [String: JSONValue] { get }
    func capabilities() throws -> RuntimeCapabilities
    func run(_ spec: RunSpec, progress: ((ProgressEvent) -> Void)?) throws -> RunResult
    func stop(_ target: AgentTarget, timeoutSeconds: Int) throws
    func delete(_ target: AgentTarget) throws
    func list(labels: [String: String]) throws -> [RuntimeAgent]
    func status(_ target: AgentTarget) throws -> RuntimeAgent
    func exec(_ target: AgentTarget, _ argv: [String], stdin: String?) throws -> ExecResult
    func attachCommand(_ target: AgentTarget) throws -> AttachCommand
    func imageExists(_ image: String) throws -> Bool
    func pullImage(_ image: String, progress: @escaping (ProgressEvent) -> Void) throws
    /// Streams the agent's log; `chunk` returns false to stop following, and
    /// `cancellation` ends the call from another thread (Ctrl-C on `logs -f`).
    func logs(
        _ target: AgentTarget, tail: Int?, follow: Bool, cancellation: PluginCancellation?,
        chunk: @escaping (String) -> Bool
    ) throws
    /// A file of the agent's home (`path` relative to it) from `offset`;
    /// nil when it does not exist. For runtimes that do not share the host's paths.
    func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64) throws -> AgentFileContents?
    /// The same read, waiting up to `waitSeconds` for the file to grow past
    /// `offset` (a long poll; runtimes that cannot wait answer at once).
    func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64, waitSeconds: Int) throws -> AgentFileContents?
    /// Writes (or appends to) a file of the agent's home.
    func writeAgentFile(_ target: AgentTarget, path: String, data: Data, append: Bool) throws
    /// Moves the agent's branch between the host's worktree and a remote
    /// instance (`sync` capability): `from` brings its commits home, `to` sends the host's.
    func sync(_ target: AgentTarget, direction: SyncRequest.Direction, workdir: String, progress: ((ProgressEvent) -> Void)?) throws
}

extension RuntimeDriver {
    public func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64, waitSeconds: Int) throws -> AgentFileContents? {
        try readAgentFile(target, path: path, offset: offset)
    }

    /// The target with this driver's options, whatever the caller passed.
    public func bound(_ target: AgentTarget) -> AgentTarget {
        var target = target
        target.runtimeConfig = options
        return target
    }

    public func stop(_ target: AgentTarget) throws { try stop(target, timeoutSeconds: 10) }
    public func exec(_ target: AgentTarget, _ argv: [String]) throws -> ExecResult { try exec(target, argv, stdin: nil) }

    public func sync(_ target: AgentTarget, direction: SyncRequest.Direction, workdir: String, progress: ((ProgressEvent) -> Void)?) throws {
        throw ScionError(.unsupported, "the \(name) runtime shares the host's files; there is nothing to sync")
    }
}

/// A harness as the lifecycle sees it.
public protocol HarnessDriver: Sendable {
    func describe() throws -> HarnessDescription
    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth
    func provision(_ request: ProvisionRequest) throws -> Provision
    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate
}

extension HarnessClient: HarnessDriver {}

/// The dlopen'd runtime plugin, bound to a runtime's options.
public struct PluginRuntimeDriver: RuntimeDriver {
    public let client: RuntimeClient
    public let options: [String: JSONValue]
    public var name: String { client.name }

    public init(_ client: RuntimeClient, options: [String: JSONValue]) {
        self.client = client
        self.options = options
    }

    public func capabilities() throws -> RuntimeCapabilities { try client.capabilities() }

    public func run(_ spec: RunSpec, progress: ((ProgressEvent) -> Void)?) throws -> RunResult {
        var spec = spec
        spec.runtimeConfig = options
        return try client.run(spec, progress: progress)
    }

    public func stop(_ target: AgentTarget, timeoutSeconds: Int) throws {
        try client.stop(bound(target), timeoutSeconds: timeoutSeconds)
    }

    public func delete(_ target: AgentTarget) throws { try client.delete(bound(target)) }

    public func list(labels: [String: String]) throws -> [RuntimeAgent] {
        try client.list(labels: labels, runtimeConfig: options)
    }

    public func status(_ target: AgentTarget) throws -> RuntimeAgent { try client.status(bound(target)) }

    public func exec(_ target: AgentTarget, _ argv: [String], stdin: String?) throws -> ExecResult {
        try client.exec(bound(target), argv, stdin: stdin)
    }

    public func attachCommand(_ target: AgentTarget) throws -> AttachCommand { try client.attachCommand(bound(target)) }

    public func imageExists(_ image: String) throws -> Bool { try client.imageExists(image, runtimeConfig: options) }

    public func pullImage(_ image: String, progress: @escaping (ProgressEvent) -> Void) throws {
        try client.pullImage(image, runtimeConfig: options, progress: progress)
    }

    public func logs(
        _ target: AgentTarget, tail: Int?, follow: Bool, cancellation: PluginCancellation?,
        chunk: @escaping (String) -> Bool
    ) throws {
        try client.logs(
            LogsRequest(name: target.name, handle: target.handle, tail: tail, follow: follow, runtimeConfig: options, home: target.home),
            cancellation: cancellation, chunk: chunk)
    }

    public func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64) throws -> AgentFileContents? {
        let answer = try client.readAgentFile(AgentFileRequest(target: bound(target), path: path, offset: offset))
        return answer.exists ? answer : nil
    }

    public func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64, waitSeconds: Int) throws -> AgentFileContents? {
        let answer = try client.readAgentFile(AgentFileRequest(target: bound(target), path: path, offset: offset, waitSeconds: waitSeconds))
        return answer.exists ? answer : nil
    }

    public func writeAgentFile(_ target: AgentTarget, path: String, data: Data, append: Bool) throws {
        try client.writeAgentFile(AgentFileRequest(target: bound(target), path: path, data: data, append: append))
    }

    public func sync(_ target: AgentTarget, direction: SyncRequest.Direction, workdir: String, progress: ((ProgressEvent) -> Void)?) throws {
        try client.sync(
            SyncRequest(name: target.name, handle: target.handle, direction: direction, paths: [workdir], runtimeConfig: options,
                        workdir: workdir, home: target.home),
            progress: progress)
    }
}

/// Makes the drivers the lifecycle uses. `plugins` finds them in the
/// plugin catalog and dlopens them; tests register in-process drivers by
/// runtime type or harness name (a registered name wins over a plugin).
public struct DriverRegistry: Sendable {
    public typealias RuntimeFactory = @Sendable (_ options: [String: JSONValue]) throws -> any RuntimeDriver
    public typealias HarnessFactory = @Sendable () throws -> any HarnessDriver

    public var runtimes: [String: RuntimeFactory]
    public var harnesses: [String: HarnessFactory]

    public init(runtimes: [String: RuntimeFactory] = [:], harnesses: [String: HarnessFactory] = [:]) {
        self.runtimes = runtimes
        self.harnesses = harnesses
    }

    public static let plugins = DriverRegistry()

    func runtime(
        type: String, options: [String: JSONValue], catalog: PluginCatalog, wantedBy: String
    ) throws -> any RuntimeDriver {
        if let factory = runtimes[type] { return try factory(options) }
        let plugin = try catalog.require(kind: "runtime", name: type, wantedBy: wantedBy)
        // One plugin instance per configuration, kept for the process (a
        // Kubernetes client keeps its connection and token cache there).
        let connection = try PluginLoader.shared.load(plugin)
        return PluginRuntimeDriver(try RuntimeClient(connection, configuration: options), options: options)
    }

    func harness(_ name: String, catalog: PluginCatalog, wantedBy: String) throws -> any HarnessDriver {
        if let factory = harnesses[name] { return try factory() }
        let plugin = try catalog.require(kind: "harness", name: name, wantedBy: wantedBy)
        return HarnessClient(try PluginLoader.shared.load(plugin))
    }

    func hasRuntime(_ type: String, catalog: PluginCatalog) -> Bool {
        runtimes[type] != nil || catalog.find(kind: "runtime", name: type) != nil
    }
}
