import Foundation
import ScionContainerSupport
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// Podman through its CLI (argv arrays, never a shell). Podman has no
/// daemon to talk to by default: its REST API needs `podman system service`
/// running, while the CLI works on any machine where `podman run` does.
///
/// `runtime_config.host` (a `unix://` or `ssh://` URL) makes it a remote
/// client (`podman --url`); CONTAINER_HOST and CONTAINERS_CONF in the
/// environment are honoured by podman itself.
struct PodmanEngine: ContainerEngine {
    static let program = "podman"

    let url: String?

    init(runtimeConfig: [String: JSONValue]) throws {
        url = runtimeConfig["host"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
    }

    var endpoint: String { url ?? "the local podman" }
    var isLocal: Bool {
        guard let url else { return ProcessInfo.processInfo.environment["CONTAINER_HOST"].map { $0.isEmpty || $0.hasPrefix("unix://") } ?? true }
        return url.hasPrefix("unix://")
    }

    /// Rootless podman maps the user to root inside unless asked to keep
    /// the user's own ID, which keeps worktree files owned by the user.
    var rootless: Bool { getuid() != 0 }

    // MARK: containers

    func run(_ plan: ContainerRunPlan) throws -> String {
        for bind in plan.binds where (bind.source + bind.target).contains(",") {
            throw PluginError(
                .invalidArgument,
                "podman cannot mount \(bind.source) at \(bind.target): its --mount option does not accept commas in paths")
        }
        let environment = try PodmanEnvironment(plan)
        let arguments = runArguments(plan, environment: environment)
        PluginLog.debug("podman " + (globalArguments + arguments).joined(separator: " "))
        let output = try podman(arguments, environment: environment.processEnvironment)
        guard output.status == 0 else {
            let message = Self.errorText(output)
            let lowered = message.lowercased()
            if lowered.contains("already in use") {
                throw ContainerErrors.nameTaken(plan.name, existing: try? inspect(plan.name), program: Self.program)
            }
            // The name was ours: leave nothing half-made behind.
            _ = try? podman(["rm", "--force", "--ignore", plan.name])
            if lowered.contains("image not known") || lowered.contains("no such image") {
                throw ContainerErrors.imageMissing(plan.image, program: Self.program)
            }
            if lowered.contains("catatonit") || lowered.contains("container-init") {
                throw PluginError(
                    .failedPrecondition,
                    "podman has no init binary for agent \(plan.agent)'s container (\(message)): install catatonit, or set runtimes.<name>.init: false")
            }
            if ContainerErrors.isMissingExecutable(message) {
                throw ContainerErrors.sessionFailed(plan.image, agent: plan.agent, reason: message)
            }
            let refused = lowered.contains("invalid") || lowered.contains("memory limit") || lowered.contains("cpu")
            throw PluginError(
                refused ? .invalidArgument : .internal,
                "podman could not run the container for agent \(plan.agent): \(message)")
        }
        guard let id = output.stdoutText.split(separator: "\n").last.map(String.init), !id.isEmpty else {
            throw PluginError(.internal, "podman run printed no container ID for agent \(plan.agent)")
        }
        return id.trimmingCharacters(in: .whitespaces)
    }

    /// `podman run` for the plan; the environment goes by name (see
    /// PodmanEnvironment), so no secret ever appears in an argv or a file.
    func runArguments(_ plan: ContainerRunPlan, environment: PodmanEnvironment) -> [String] {
        var arguments = ["run", "--detach", "--tty", "--interactive", "--pull", "never", "--name", plan.name]
        for key in plan.labels.keys.sorted() {
            arguments += ["--label", "\(key)=\(plan.labels[key]!)"]
        }
        for bind in plan.binds {
            arguments += ["--mount", "type=bind,source=\(bind.source),destination=\(bind.target)" + (bind.readOnly ? ",ro=true" : "")]
        }
        arguments += environment.arguments + ["--workdir", plan.workdir]
        if let network = plan.network { arguments += ["--network", network] }
        if let user = plan.user { arguments += ["--user", user] }
        if rootless { arguments.append("--userns=keep-id") }
        if let memory = plan.limits.memoryBytes { arguments += ["--memory", String(memory)] }
        if let cpus = plan.limits.cpusText { arguments += ["--cpus", cpus] }
        if plan.useInit { arguments.append("--init") }
        return arguments + [plan.image] + plan.command
    }

    func stop(_ reference: String, timeoutSeconds: Int) throws {
        let output = try podman(["stop", "--time", String(timeoutSeconds), reference])
        guard output.status == 0 else {
            let message = Self.errorText(output)
            if Self.isNoSuchContainer(message) {
                throw ContainerErrors.noContainer(reference, reference: reference, program: Self.program)
            }
            throw PluginError(.internal, "podman could not stop container \(reference): \(message)")
        }
    }

    func remove(_ reference: String) throws {
        let output = try podman(["rm", "--force", "--time", "0", "--volumes", "--ignore", reference])
        guard output.status == 0 || Self.isNoSuchContainer(Self.errorText(output)) else {
            throw PluginError(.internal, "podman could not remove container \(reference): \(Self.errorText(output))")
        }
    }

    func inspect(_ reference: String) throws -> ContainerState? {
        let output = try podman(["container", "inspect", reference])
        guard output.status == 0 else {
            let message = Self.errorText(output)
            if Self.isNoSuchContainer(message) { return nil }
            throw PluginError(.internal, "podman could not inspect container \(reference): \(message)")
        }
        return try decode([EngineJSON.ContainerInspect].self, output.stdout).first?.containerState
    }

    func list(labels: [String: String]) throws -> [ContainerState] {
        var arguments = ["ps", "--all", "--format", "json"]
        for key in labels.keys.sorted() {
            arguments += ["--filter", "label=\(key)=\(labels[key]!)"]
        }
        let output = try podman(arguments)
        guard output.status == 0 else {
            throw PluginError(.internal, "podman could not list containers: \(Self.errorText(output))")
        }
        guard !output.stdout.isEmpty else { return [] }
        return try decode([EngineJSON.ContainerSummary].self, output.stdout).map(\.containerState)
    }

    func exec(_ reference: String, argv: [String], stdin: Data?) throws -> ExecResult {
        let arguments = ["exec"] + (stdin != nil ? ["--interactive"] : []) + [reference] + argv
        let output = try podman(arguments, input: stdin)
        // podman's own failures (not the command's): 125, or 255 for a
        // container that is not running, with podman's "Error: " on stderr.
        if output.status == 125 || output.status == 255, output.stderrText.contains("Error: ") {
            let message = Self.errorText(output)
            if Self.isNoSuchContainer(message) {
                throw ContainerErrors.noContainer(reference, reference: reference, program: Self.program)
            }
            if message.contains("state improper") || message.contains("not running") {
                throw ContainerErrors.notRunning(reference, state: try? inspect(reference)?.status)
            }
        }
        return ExecResult(exitCode: Int(output.status), output: output.stdout, errorOutput: output.stderr)
    }

    func recentOutput(_ reference: String, lines: Int) -> String {
        guard let output = try? podman(["logs", "--tail", String(lines), reference]) else { return "" }
        return (output.stdoutText + output.stderrText).replacingOccurrences(of: "\r\n", with: "\n")
    }

    // MARK: images

    func imageExists(_ image: String) throws -> Bool {
        let output = try podman(["image", "exists", image])
        switch output.status {
        case 0: return true
        case 1: return false
        default: throw PluginError(.internal, "podman could not look up image \(image): \(Self.errorText(output))")
        }
    }

    func pullImage(_ image: String, progress: EventSink) throws {
        var cancelled = false
        let result: LineStreamingProcess.Result
        do {
            result = try LineStreamingProcess.run(["podman"] + globalArguments + ["pull", image]) { line in
                guard progress.emit(ProgressEvent(message: line)) else {
                    cancelled = true
                    return false
                }
                return true
            }
        } catch {
            throw notInstalled(error)
        }
        guard result.status != 0, !cancelled else { return }
        var message = result.tail.last { $0.hasPrefix("Error") } ?? result.tail.last ?? "exit status \(result.status)"
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        let lowered = message.lowercased()
        let code: PluginError.Code = lowered.contains("not found") || lowered.contains("manifest unknown")
            || lowered.contains("denied") || lowered.contains("did not resolve") ? .notFound : .unavailable
        throw ContainerErrors.pullFailed(
            image, program: Self.program, reason: message, code: code, stillMissing: (try? imageExists(image)) == false)
    }

    // MARK: attach

    func attachArgv(_ reference: String, session: String) -> [String] {
        [Self.program] + globalArguments + ["exec", "-it", reference, "tmux", "attach", "-t", session]
    }

    // MARK: plumbing

    var globalArguments: [String] { url.map { ["--url", $0] } ?? [] }

    private func podman(
        _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil
    ) throws -> Subprocess.Output {
        let output: Subprocess.Output
        do {
            output = try Subprocess.run([Self.program] + globalArguments + arguments, environment: environment, input: input)
        } catch {
            throw notInstalled(error)
        }
        if output.status == 125 {
            let message = Self.errorText(output).lowercased()
            if message.contains("unable to connect to podman") || message.contains("connection refused") {
                let reason = Self.errorText(output).split(separator: "\n").last.map(String.init) ?? ""
                throw PluginError(
                    .unavailable, "podman cannot reach \(endpoint): \(reason.replacingOccurrences(of: "Error: ", with: ""))",
                    details: ["host": .string(endpoint)])
            }
        }
        return output
    }

    private func notInstalled(_ error: Error) -> PluginError {
        PluginError(
            .unavailable,
            "podman is not installed or not on PATH (\(error)): install it (apt-get install podman) or choose another runtime")
    }

    /// Podman's stderr without its warnings (for example about stdin not
    /// being a terminal, which is expected here).
    static func errorText(_ output: Subprocess.Output) -> String {
        let lines = output.stderrText.split(separator: "\n").map(String.init).filter {
            !$0.contains("level=warning")
        }
        let text = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        let trimmed = text.hasPrefix("Error: ") ? String(text.dropFirst("Error: ".count)) : text
        return trimmed.isEmpty ? "exit status \(output.status)" : trimmed
    }

    static func isNoSuchContainer(_ message: String) -> Bool {
        message.lowercased().contains("no such container")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw PluginError(.internal, "unexpected output from podman: \(error)")
        }
    }
}

/// The container environment for `podman run`, with no file: each
/// variable is passed as `--env NAME` with no value, which makes podman take
/// the value from its own process environment (set through posix_spawn's
/// envp, so nothing reaches a disk or an argv, and a killed start leaves
/// nothing behind). Variables podman itself reads (HOME, PATH, TMPDIR,
/// XDG_*, LD_*, proxies...) cannot be changed in podman's own environment
/// without changing podman; those are never secrets, and go as
/// `--env NAME=value`. A secret with such a name is refused.
struct PodmanEnvironment {
    let arguments: [String]
    let processEnvironment: [String: String]

    init(_ plan: ContainerRunPlan, base: [String: String] = ProcessInfo.processInfo.environment) throws {
        var arguments: [String] = []
        var process = base
        for key in plan.env.keys.sorted() {
            let value = plan.env[key]!
            if Self.podmanReads(key) {
                guard !plan.secretEnv.contains(key) else {
                    throw PluginError(
                        .invalidArgument,
                        "the secret variable \(key) of agent \(plan.agent) has a name podman itself reads, so it cannot be passed without showing it in podman's argv: give it another name")
                }
                arguments += ["--env", "\(key)=\(value)"]
            } else {
                guard !key.contains("*") else {
                    throw PluginError(.invalidArgument, "environment variable name \"\(key)\" is not valid for podman (a * would match host variables)")
                }
                process[key] = value
                arguments += ["--env", key]
            }
        }
        self.arguments = arguments
        processEnvironment = process
    }

    /// Names podman (a Go program with containers/common) reads from its own
    /// environment.
    static func podmanReads(_ name: String) -> Bool {
        let exact: Set<String> = [
            "HOME", "PATH", "TERM", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "LANG", "PWD",
            "DBUS_SESSION_BUS_ADDRESS", "REGISTRY_AUTH_FILE", "NOTIFY_SOCKET", "DOCKER_CONFIG", "DOCKER_HOST",
        ]
        if exact.contains(name) { return true }
        let upper = name.uppercased()
        if ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"].contains(upper) { return true }
        return ["XDG_", "LC_", "LD_", "GO", "CONTAINERS_", "CONTAINER_", "PODMAN_", "STORAGE_", "BUILDAH_", "SSL_CERT_", "CGO_", "_CONTAINERS_"]
            .contains { name.hasPrefix($0) }
    }
}
