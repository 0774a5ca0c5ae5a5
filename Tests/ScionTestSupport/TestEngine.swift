import Foundation

/// A real container engine the container runtime tests drive: its CLI to
/// look at containers from outside scion, the test image scripts/test-env.sh
/// imported into it, and the settings that make a sandbox use it.
public enum TestEngine: String, CaseIterable, Sendable, CustomStringConvertible {
    case docker, podman

    public var description: String { rawValue }

    /// Engine tests run unless SCION_TEST_ENGINES=0 excludes them on purpose;
    /// when they run, an engine that does not answer fails them.
    public static var enabled: Bool {
        ProcessInfo.processInfo.environment["SCION_TEST_ENGINES"] != "0"
    }

    public static let disabledReason = "SCION_TEST_ENGINES=0 excludes the container engine tests"

    /// The debootstrap test image (tmux, git) as this engine names it.
    public var image: String {
        switch self {
        case .docker: return "scion-test:latest"
        case .podman: return "localhost/scion-test:latest"
        }
    }

    /// Fails loudly unless the engine answers and holds the test image.
    public func requireAvailable() throws {
        let version = try? Shell.run([rawValue, "version", "--format", "{{.Server.Version}}"])
        guard let version, version.status == 0 else {
            let reason = version?.stderr.trimmingCharacters(in: .whitespacesAndNewlines) ?? "no \(rawValue) CLI on PATH"
            throw TestFailure(
                "\(rawValue) does not answer (\(reason)): run scripts/test-env.sh, "
                    + "or set SCION_TEST_ENGINES=0 to exclude the container engine tests")
        }
        guard try Shell.run([rawValue, "image", "inspect", image]).status == 0 else {
            throw TestFailure("\(rawValue) has no \(image) image: run scripts/test-env.sh")
        }
    }

    /// Makes this engine's profile the sandbox's active one, with no network
    /// (the test machines have no bridge) and the test image for the shell
    /// harness config.
    public func configure(_ sandbox: ScionSandbox) throws {
        try requireAvailable()
        try sandbox.check("config", "set", "active_profile", rawValue)
        try sandbox.check("config", "set", "runtimes.\(rawValue).network", "none")
        try sandbox.check("config", "set", "harness_configs.shell.image", image)
    }

    /// Runs the engine's CLI.
    @discardableResult
    public func run(_ arguments: String...) throws -> Shell.Result {
        try Shell.run([rawValue] + arguments)
    }

    /// Runs the engine's CLI and requires success; returns stdout, trimmed.
    @discardableResult
    public func check(_ arguments: String...) throws -> String {
        try Shell.check([rawValue] + arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs argv inside a container, as `docker exec` / `podman exec` do.
    public func exec(_ container: String, _ argv: String...) throws -> Shell.Result {
        try Shell.run([rawValue, "exec", container] + argv)
    }

    /// Names of the containers, running or not, carrying `label` (k=v).
    public func containers(label: String) throws -> [String] {
        try check("ps", "--all", "--filter", "label=\(label)", "--format", "{{.Names}}")
            .split(separator: "\n").map(String.init)
    }

    /// `inspect` of one container, decoded; nil when it does not exist.
    public func inspect(_ container: String) throws -> [String: Any]? {
        let result = try Shell.run([rawValue, "container", "inspect", container])
        guard result.status == 0 else { return nil }
        let decoded = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        return decoded?.first
    }
}
