import Foundation
import ScionCore
import ScionPluginKit
import Synchronization

/// An in-process runtime for lifecycle unit tests: no engine, no tmux. It
/// remembers its instances and every call with the options the call
/// carried, so tests can check that an agent's runtime settings reach every
/// operation. Shared by all drivers a registry makes (one per binding).
public final class FakeRuntimeWorld: Sendable {
    public struct Call: Sendable, Equatable {
        public var operation: String
        public var options: [String: JSONValue]
        public var name: String?
    }

    public struct Instance: Sendable {
        public var spec: RunSpec
        public var handle: String
        public var options: [String: JSONValue]
        public var state: RuntimeAgent.State
    }

    struct State {
        var calls: [Call] = []
        var instances: [String: Instance] = [:]
        var counter = 0
        /// Files of agent homes, for a fake that does not share host paths.
        var files: [String: Data] = [:]
        /// `run` fails with this, once per entry.
        var runFailures: [ScionError] = []
    }

    let state = Mutex(State())
    /// The capability the fake reports.
    public let sharesHostPaths: Bool

    public init(sharesHostPaths: Bool = true) {
        self.sharesHostPaths = sharesHostPaths
    }

    public var calls: [Call] { state.withLock { $0.calls } }
    public var instances: [String: Instance] { state.withLock { $0.instances } }

    public func calls(_ operation: String) -> [Call] { calls.filter { $0.operation == operation } }

    /// The next `run` fails with `error` (after making its instance, as a
    /// start killed between the engine's create and the record's save).
    public func failNextRun(_ error: ScionError) { state.withLock { $0.runFailures.append(error) } }

    /// A file as the agent wrote it in its (remote) home.
    public func setFile(_ name: String, _ path: String, _ data: Data) {
        state.withLock { $0.files[name + "\u{0}" + path] = data }
    }

    public func file(_ name: String, _ path: String) -> Data? {
        state.withLock { $0.files[name + "\u{0}" + path] }
    }

    /// A registry with this fake as runtime type `type` (and the fake harness).
    public func registry(type: String = "fake") -> DriverRegistry {
        DriverRegistry(
            runtimes: [type: { options in FakeRuntime(world: self, options: options) }],
            harnesses: ["fake": { FakeHarness() }])
    }

    func record(_ operation: String, _ options: [String: JSONValue], _ name: String?) {
        state.withLock { $0.calls.append(Call(operation: operation, options: options, name: name)) }
    }
}

public struct FakeRuntime: RuntimeDriver {
    let world: FakeRuntimeWorld
    public let options: [String: JSONValue]
    public var name: String { "fake" }

    public func capabilities() throws -> RuntimeCapabilities {
        world.record("capabilities", options, nil)
        return RuntimeCapabilities(needsImage: false, isolated: false, sharesHostPaths: world.sharesHostPaths)
    }

    public func run(_ spec: RunSpec, progress: ((ProgressEvent) -> Void)?) throws -> RunResult {
        world.record("run", spec.runtimeConfig.isEmpty ? options : spec.runtimeConfig, spec.name)
        return try world.state.withLock { state in
            if let existing = state.instances[spec.name], existing.state == .running {
                throw ScionError(.alreadyExists, "fake instance \(spec.name) exists")
            }
            state.counter += 1
            let handle = "fake-\(state.counter)"
            state.instances[spec.name] = FakeRuntimeWorld.Instance(spec: spec, handle: handle, options: options, state: .running)
            if !state.runFailures.isEmpty { throw state.runFailures.removeFirst() }
            return RunResult(handle: handle)
        }
    }

    public func stop(_ target: AgentTarget, timeoutSeconds: Int) throws {
        world.record("stop", bound(target).runtimeConfig ?? [:], target.name)
        world.state.withLock { $0.instances[target.name]?.state = .stopped }
    }

    public func delete(_ target: AgentTarget) throws {
        world.record("delete", bound(target).runtimeConfig ?? [:], target.name)
        world.state.withLock { _ = $0.instances.removeValue(forKey: target.name) }
    }

    public func list(labels: [String: String]) throws -> [RuntimeAgent] {
        world.record("list", options, nil)
        return world.state.withLock { state in
            state.instances.values.filter { instance in
                instance.options == options && labels.allSatisfy { instance.spec.labels[$0.key] == $0.value }
            }.map { RuntimeAgent(name: $0.spec.name, handle: $0.handle, state: $0.state, labels: $0.spec.labels) }
        }
    }

    public func status(_ target: AgentTarget) throws -> RuntimeAgent {
        world.record("status", bound(target).runtimeConfig ?? [:], target.name)
        return world.state.withLock { state in
            guard let instance = state.instances[target.name], instance.options == options,
                  target.handle.isEmpty || instance.handle == target.handle
            else { return RuntimeAgent(name: target.name, handle: target.handle, state: .missing) }
            return RuntimeAgent(name: target.name, handle: instance.handle, state: instance.state, labels: instance.spec.labels)
        }
    }

    /// Answers the pane-state script ("alive") and tmux captures ("fake screen").
    public func exec(_ target: AgentTarget, _ argv: [String], stdin: String?) throws -> ExecResult {
        world.record("exec", bound(target).runtimeConfig ?? [:], target.name)
        if argv.first == "sh" { return ExecResult(exitCode: 0, stdout: "0 \n", stderr: "") }
        return ExecResult(exitCode: 0, stdout: "fake screen\n", stderr: "")
    }

    public func attachCommand(_ target: AgentTarget) throws -> AttachCommand {
        world.record("attach_argv", bound(target).runtimeConfig ?? [:], target.name)
        return AttachCommand(argv: ["true"])
    }

    public func imageExists(_ image: String) throws -> Bool { true }
    public func pullImage(_ image: String, progress: @escaping (ProgressEvent) -> Void) throws {}

    public func logs(
        _ target: AgentTarget, tail: Int?, follow: Bool, cancellation: PluginCancellation?,
        chunk: @escaping (String) -> Bool
    ) throws {
        world.record("logs", bound(target).runtimeConfig ?? [:], target.name)
        let text = world.file(target.name, ".scion/agent.log").map { String(decoding: $0, as: UTF8.self) } ?? "fake log\n"
        _ = chunk(text)
    }

    public func readAgentFile(_ target: AgentTarget, path: String, offset: UInt64) throws -> AgentFileContents? {
        world.record("read_agent_file", bound(target).runtimeConfig ?? [:], target.name)
        guard let data = world.file(target.name, path) else { return nil }
        let start = min(Int(offset), data.count)
        return AgentFileContents(exists: true, data: data.subdata(in: start..<data.count), size: UInt64(data.count))
    }

    public func writeAgentFile(_ target: AgentTarget, path: String, data: Data, append: Bool) throws {
        world.record("write_agent_file", bound(target).runtimeConfig ?? [:], target.name)
        world.state.withLock { state in
            let key = target.name + "\u{0}" + path
            state.files[key] = (append ? state.files[key] ?? Data() : Data()) + data
        }
    }
}

/// A harness for lifecycle unit tests: runs `true`, never authenticates.
public struct FakeHarness: HarnessDriver {
    public init() {}

    public func describe() throws -> HarnessDescription {
        HarnessDescription(
            plugin: PluginDescription(name: "fake", kind: "harness", version: "0", description: "test harness"),
            authMethods: [], interruptKey: "C-c", supportsResume: true)
    }

    public func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth { ResolvedAuth(method: "none") }

    public func provision(_ request: ProvisionRequest) throws -> Provision {
        Provision(command: ["true"] + (request.task.map { [$0] } ?? []))
    }

    public func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate {
        ActivityUpdate(activity: event.event == "stop" ? .waitingForInput : .executing)
    }
}
