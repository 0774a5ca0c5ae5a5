import Foundation

/// The runtimes end-to-end tests run agents on.
public enum TestRuntime: String, Sendable, CustomStringConvertible {
    case local, docker

    public var description: String { rawValue }

    /// The image container tests use (scripts/test-env.sh imports it).
    public static let testImage = "scion-test:latest"

    /// Container engine tests run unless SCION_TEST_ENGINES=0 excludes them
    /// on purpose; when they run, an engine that does not answer fails them.
    public static var enginesEnabled: Bool {
        ProcessInfo.processInfo.environment["SCION_TEST_ENGINES"] != "0"
    }

    /// Fails loudly unless this runtime can run the tests.
    public func requireAvailable() throws {
        guard self == .docker else { return }
        let version = try? Shell.run(["docker", "version", "--format", "{{.Server.Version}}"])
        guard let version, version.status == 0 else {
            throw TestFailure(
                "docker does not answer (\(version?.stderr.trimmingCharacters(in: .whitespacesAndNewlines) ?? "no docker CLI")): "
                    + "run scripts/test-env.sh, or set SCION_TEST_ENGINES=0 to exclude container engine tests")
        }
        let image = try Shell.run(["docker", "image", "inspect", Self.testImage])
        guard image.status == 0 else {
            throw TestFailure("docker has no \(Self.testImage) image: run scripts/test-env.sh")
        }
    }

    /// A sandbox whose active profile is this runtime, with the stand-ins
    /// on it: first on PATH for local agents; for docker the test image, and
    /// each stand-in mounted as /usr/local/bin/<name> through the profile's
    /// volumes. `gated` makes the stand-ins wait at each step of their first
    /// turn for the test to open a gate.
    public func sandbox(gated: Bool = false) throws -> (sandbox: ScionSandbox, standIns: HarnessStandIns) {
        try requireAvailable()
        let sandbox = try ScionSandbox()
        let standIns = try HarnessStandIns(in: sandbox)
        try sandbox.check("config", "set", "active_profile", rawValue)
        if gated {
            try sandbox.check("config", "set", "profiles.\(rawValue).env", #"{STANDIN_GATED: "1"}"#)
        }
        guard self == .docker else { return (sandbox, standIns) }
        let volumes = HarnessStandIns.names.map { "\"\(standIns.path($0)):/usr/local/bin/\($0):ro\"" }
        try sandbox.check("config", "set", "profiles.docker.volumes", "[\(volumes.joined(separator: ", "))]")
        for name in HarnessStandIns.names {
            try sandbox.check("config", "set", "harness_configs.\(name).image", Self.testImage)
        }
        return (sandbox, standIns)
    }

    /// `scion-agent` as the agent's hooks run it.
    public var agentHelper: String {
        switch self {
        case .local: return URL(fileURLWithPath: BuildProducts.directory + "/scion-agent").resolvingSymlinksInPath().path
        case .docker: return "/usr/local/bin/scion-agent"
        }
    }
}
