import Foundation
import ScionAgentEvents
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// The grove broker as the host sees it: `scion-broker --grove <dir>`, one
/// per grove, beside the scion executable. It serves the `scion` of the
/// grove's container agents, each on a unix socket of its own (a folder
/// mounted into that agent only, at /run/scion), and runs each request as
/// that agent with the host's scion. It holds `<grove>/.scion/broker.lock`
/// while it runs: whoever can take the lock knows it is not running.
/// Started by the first container launch that needs it, gone once no
/// agent needs it, started again by the next host command (`scion list`,
/// `start`, `resume`...) if it was killed.
public struct GroveBroker: Sendable {
    public static let executableName = "scion-broker"
    /// The broker's own environment names: none of the agent variables.
    static let agentVariables = [AgentAuthority.agentVariable, AgentAuthority.groveVariable, "SCION_HARNESS", "SCION_TASK_FILE"]

    public let grove: Grove

    public init(grove: Grove) { self.grove = grove }

    public var lockPath: String { grove.directory + "/broker.lock" }
    public var logPath: String { grove.directory + "/broker.log" }

    /// `/tmp/scion-<uid>/broker/<hash of grove and agent>`: short, since a
    /// socket path must fit in 108 bytes whatever the grove's path.
    public func socketDirectory(for agent: String) -> String {
        Self.baseDirectory + "/" + Digest.sha256Hex(grove.directory + "\u{0}" + agent, characters: 24)
    }

    public func socketPath(for agent: String) -> String { socketDirectory(for: agent) + "/" + BrokerWire.socketName }

    static var baseDirectory: String { "/tmp/scion-\(getuid())/broker" }

    /// Makes the agent's socket folder (mode 0700, owned by this user).
    /// `user`: the agent's uid:gid when it is not the host user's
    /// (run_as_user); the agent's own folder is then given to it, and the
    /// broker gives it the socket in it, so it can connect.
    public func prepareSocketDirectory(for agent: String, user: (uid: UInt32, gid: UInt32)? = nil) throws -> String {
        let directory = socketDirectory(for: agent)
        for path in ["/tmp/scion-\(getuid())", Self.baseDirectory, directory] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw ScionError(.internal, "cannot make the broker folder \(path): \(String(cString: strerror(errno)))")
            }
            var info = stat()
            let owners = path == directory ? [getuid()] + (user.map { [$0.uid] } ?? []) : [getuid()]
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, owners.contains(info.st_uid) else {
                throw ScionError(.permissionDenied, "\(path) is not a folder of this user: remove it, then start the agent again")
            }
        }
        let owner = user ?? (getuid(), getgid())
        if chown(directory, owner.uid, owner.gid) != 0 {
            throw ScionError(.permissionDenied, "cannot give the broker folder \(directory) to uid \(owner.uid): \(String(cString: strerror(errno)))")
        }
        return directory
    }

    public func removeSocketDirectory(for agent: String) {
        let directory = socketDirectory(for: agent)
        unlink(directory + "/" + BrokerWire.socketName)
        rmdir(directory)
    }

    public func hasSocketDirectory(for agent: String) -> Bool {
        FileManager.default.fileExists(atPath: socketDirectory(for: agent))
    }

    /// Whether a broker holds the grove's broker lock.
    public var isRunning: Bool {
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return false
        }
        return true
    }

    /// Starts the broker unless one runs. `scionPath`: the scion executable
    /// (the broker is beside it, and runs it for each request).
    public func ensureRunning(scionPath: String, environment: [String: String]) throws {
        guard !isRunning else { return }
        let broker = (scionPath as NSString).deletingLastPathComponent + "/" + Self.executableName
        guard FileManager.default.isExecutableFile(atPath: broker) else {
            throw ScionError(
                .failedPrecondition,
                "\(broker) is missing: container agents need \(Self.executableName) installed beside scion (build it with `swift build --product \(Self.executableName)`)")
        }
        var environment = environment
        for name in Self.agentVariables { environment[name] = nil }
        _ = try Subprocess.startDetached(
            [broker, "--grove", grove.directory, "--scion", scionPath], environment: environment, logPath: logPath)
    }
}

extension Orchestrator {
    var broker: GroveBroker { GroveBroker(grove: grove) }

    /// The next host command after a killed broker starts it again, when a
    /// running agent has a broker socket folder (a container agent).
    func restartBrokerIfNeeded(_ records: [AgentRecord]) {
        guard records.contains(where: { $0.phase == .running && broker.hasSocketDirectory(for: $0.name) }) else {
            ensureFollower(records)
            return
        }
        do {
            try broker.ensureRunning(scionPath: context.executablePath, environment: context.environment)
        } catch {
            logger.warning("cannot start the grove broker: \(error)")
        }
    }
}
