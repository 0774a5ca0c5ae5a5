import Foundation
import ScionPluginABI
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// A test-only runtime (never installed) that does NOT share the host's
/// paths: it runs the agent as a local tmux process, but with its home
/// under `runtimes.<name>.root` (`<root>/<host home path>`), a copy made at
/// `run`, as a pod receives its volume. The host's copy of the home is
/// never updated by the agent, so a host that read agent files from its
/// own disk would find nothing there; everything must go through this
/// runtime's operations.
struct FarawayRuntime: RuntimePlugin {
    let description = PluginDescription(
        name: "faraway", kind: "runtime", version: "0.0.1",
        description: "test runtime whose agent homes are not at the host's paths")

    struct Record: Codable {
        var name: String
        var labels: [String: String]
        var home: String
        var workdir: String
    }

    func capabilities() throws -> RuntimeCapabilities {
        RuntimeCapabilities(needsImage: false, isolated: false, sharesHostPaths: false)
    }

    func root(_ config: [String: JSONValue]?) throws -> String {
        guard let root = config?["root"]?.stringValue, root.hasPrefix("/") else {
            throw PluginError(.invalidArgument, "the faraway runtime needs runtimes.<name>.root, an absolute path")
        }
        return root
    }

    /// The agent's home as the agent sees it.
    func remoteHome(_ hostHome: String, _ config: [String: JSONValue]?) throws -> String {
        try root(config) + hostHome
    }

    /// The instance folder (TMUX_TMPDIR, record), named by the runtime name.
    func instance(_ name: String, _ config: [String: JSONValue]?) throws -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return try root(config) + "/i/" + String(hash, radix: 16)
    }

    func socket(_ instance: String) -> String { instance + "/tmux-\(getuid())/default" }
    func tmux(_ instance: String, _ arguments: [String]) -> [String] { ["tmux", "-S", socket(instance)] + arguments }

    func record(_ instance: String) -> Record? {
        FileManager.default.contents(atPath: instance + "/agent.json").flatMap { try? JSONDecoder().decode(Record.self, from: $0) }
    }

    func alive(_ instance: String) -> Bool {
        (try? Subprocess.run(tmux(instance, ["has-session"]), environment: ["PATH": "/usr/bin:/bin"]).status) == 0
    }

    func rewrite(_ value: String, from hostHome: String, to home: String) -> String {
        value.replacingOccurrences(of: hostHome, with: home)
    }

    func run(_ spec: RunSpec, progress: EventSink) throws -> RunResult {
        let home = try remoteHome(spec.home, spec.runtimeConfig)
        let folder = try instance(spec.name, spec.runtimeConfig)
        if alive(folder) { throw PluginError(.alreadyExists, "faraway instance \(spec.name) is running") }
        let manager = FileManager.default
        try manager.createDirectory(atPath: home, withIntermediateDirectories: true)
        // The home arrives as a pod's volume would: a copy of the host's.
        let copy = try Subprocess.run(["cp", "-a", spec.home + "/.", home], environment: ["PATH": "/usr/bin:/bin"])
        guard copy.status == 0 else { throw PluginError(.internal, "cannot copy the home: \(copy.stderrText)") }
        try manager.createDirectory(atPath: folder + "/tmux-\(getuid())", withIntermediateDirectories: true,
                                    attributes: [.posixPermissions: 0o700])
        try JSONEncoder().encode(Record(name: spec.name, labels: spec.labels, home: home, workdir: spec.workdir))
            .write(to: URL(fileURLWithPath: folder + "/agent.json"))
        try UntrustedDirectory(home).remove(Tmux.exitPath)
        try HarnessLaunch.write(spec.command.map { rewrite($0, from: spec.home, to: home) }, home: home)
        var environment = spec.env.mapValues { rewrite($0, from: spec.home, to: home) }
        environment["HOME"] = home
        environment["TMUX_TMPDIR"] = folder
        environment["TERM"] = environment["TERM"] ?? "xterm-256color"
        environment["SHELL"] = environment["SHELL"] ?? "/bin/sh"
        environment["PATH"] = environment["PATH"] ?? "/usr/bin:/bin"
        let config = spec.session.configFile.map { rewrite($0, from: spec.home, to: home) } ?? "/dev/null"
        let output = try Subprocess.run(
            tmux(folder, ["-f", config]) + Tmux.newSession(spec.session, workdir: spec.workdir, detached: true),
            environment: environment, workingDirectory: spec.workdir)
        guard output.status == 0 else { throw PluginError(.internal, "tmux could not start: \(output.stderrText)") }
        return RunResult(handle: folder)
    }

    func folder(_ target: AgentTarget) throws -> String {
        target.handle.isEmpty ? try instance(target.name, target.runtimeConfig) : target.handle
    }

    func stop(_ request: StopRequest) throws {
        _ = try Subprocess.run(tmux(request.handle, ["kill-server"]), environment: ["PATH": "/usr/bin:/bin"])
    }

    func delete(_ target: AgentTarget) throws {
        let folder = try folder(target)
        guard let record = record(folder) else { return }
        _ = try Subprocess.run(tmux(folder, ["kill-server"]), environment: ["PATH": "/usr/bin:/bin"])
        try? FileManager.default.removeItem(atPath: folder)
        try? FileManager.default.removeItem(atPath: record.home)
    }

    func state(_ folder: String, _ record: Record) -> RuntimeAgent {
        let exit = UntrustedDirectory(record.home).text(Tmux.exitPath).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return RuntimeAgent(name: record.name, handle: folder, state: alive(folder) ? .running : .stopped, labels: record.labels, exitCode: exit)
    }

    func list(_ request: ListRequest) throws -> ListResponse {
        let base = try root(request.runtimeConfig) + "/i"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return ListResponse(agents: entries.compactMap { entry in
            let folder = base + "/" + entry
            guard let record = record(folder), request.labels.allSatisfy({ record.labels[$0.key] == $0.value }) else { return nil }
            return state(folder, record)
        })
    }

    func status(_ target: AgentTarget) throws -> RuntimeAgent {
        let folder = try folder(target)
        guard let record = record(folder) else { return RuntimeAgent(name: target.name, handle: target.handle, state: .missing) }
        return state(folder, record)
    }

    func logs(_ request: LogsRequest, sink: EventSink) throws {
        guard let record = record(request.handle) else { throw PluginError(.notFound, "no faraway instance \(request.name)") }
        try AgentLogFile(home: record.home).stream(tail: request.tail, follow: request.follow, sink: sink, isAlive: { alive(request.handle) })
    }

    func exec(_ request: ExecRequest) throws -> ExecResult {
        guard let record = record(request.handle) else { throw PluginError(.notFound, "no faraway instance \(request.name)") }
        let argv = request.argv.first == "tmux" ? tmux(request.handle, Array(request.argv.dropFirst())) : request.argv
        let output = try Subprocess.run(
            argv, environment: ["HOME": record.home, "TMUX_TMPDIR": request.handle, "PATH": "/usr/bin:/bin"],
            input: request.stdin.map { Data($0.utf8) }, workingDirectory: record.workdir)
        return ExecResult(exitCode: Int(output.status), stdout: output.stdoutText, stderr: output.stderrText)
    }

    func attachCommand(_ target: AgentTarget) throws -> AttachCommand {
        AttachCommand(argv: tmux(try folder(target), Tmux.attach(SessionLayout())))
    }

    func home(_ request: AgentFileRequest) throws -> UntrustedDirectory {
        guard let hostHome = request.home else { throw PluginError(.invalidArgument, "agent file request without home") }
        return UntrustedDirectory(try remoteHome(hostHome, request.runtimeConfig))
    }

    func readAgentFile(_ request: AgentFileRequest) throws -> AgentFileContents {
        let directory = try home(request)
        let path = try request.checkedPath()
        guard let handle = try directory.openForReading(path) else { return AgentFileContents(exists: false) }
        defer { try? handle.close() }
        let size = directory.size(path)
        try handle.seek(toOffset: min(request.offset ?? 0, size))
        return AgentFileContents(exists: true, data: handle.readDataToEndOfFile(), size: size)
    }

    func writeAgentFile(_ request: AgentFileRequest) throws {
        let directory = try home(request)
        let path = try request.checkedPath()
        try FileManager.default.createDirectory(atPath: directory.root, withIntermediateDirectories: true)
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try directory.createDirectory(parent) }
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | ((request.append ?? false) ? O_APPEND : O_TRUNC)
        let fd = try directory.openFile(path, flags: flags)
        defer { close(fd) }
        let data = request.data ?? Data()
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw PluginError(.internal, "cannot write \(path)") }
    }
}

@_cdecl("scion_plugin_entry_v1")
public func scionPluginEntry(
    _ host: UnsafePointer<scion_host_api>?, _ plugin: UnsafeMutablePointer<scion_plugin_api>?
) -> Int32 {
    PluginExport.export(runtime: FarawayRuntime(), host: host, into: plugin)
}
