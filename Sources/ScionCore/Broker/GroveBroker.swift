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

    /// The note beside an agent's socket folder, in the broker folder the
    /// agent never sees: the grove and the agent it was made for, so a
    /// sweep removes only folders scion made, for agents that are gone.
    func ownerPath(for agent: String) -> String { socketDirectory(for: agent) + Self.ownerSuffix }
    static let ownerSuffix = ".owner"

    /// Makes the agent's socket folder (mode 0700, owned by this user), and
    /// its owner note. `user`: the agent's uid:gid when it is not the host
    /// user's (run_as_user); the agent's own folder is then given to it,
    /// and the broker gives it the socket in it, so it can connect.
    public func prepareSocketDirectory(for agent: String, user: (uid: UInt32, gid: UInt32)? = nil) throws -> String {
        let directory = socketDirectory(for: agent)
        for path in ["/tmp/scion-\(getuid())", Self.baseDirectory, directory] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw ScionError(.internal, "cannot make the broker folder \(path): \(String(cString: strerror(errno)))")
            }
            let owners = path == directory ? [getuid()] + (user.map { [$0.uid] } ?? []) : [getuid()]
            guard Self.isPrivateFolder(path, ownedByAnyOf: owners) else {
                throw ScionError(.permissionDenied, "\(path) is not a folder of this user: remove it, then start the agent again")
            }
        }
        let owner = user ?? (getuid(), getgid())
        if chown(directory, owner.uid, owner.gid) != 0 {
            throw ScionError(.permissionDenied, "cannot give the broker folder \(directory) to uid \(owner.uid): \(String(cString: strerror(errno)))")
        }
        try AtomicFile.write(Data((grove.directory + "\u{0}" + agent).utf8), to: ownerPath(for: agent), mode: 0o600, durable: false)
        return directory
    }

    /// A folder (not a link) of this user.
    static func isPrivateFolder(_ path: String, ownedByAnyOf owners: [uid_t] = [getuid()]) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR && owners.contains(info.st_uid)
    }

    /// Removes the agent's socket folder and whatever is in it, never
    /// following a link (SafeRemoval), then its owner note.
    public func removeSocketDirectory(for agent: String) {
        guard Self.isPrivateFolder("/tmp/scion-\(getuid())"), Self.isPrivateFolder(Self.baseDirectory),
              let removal = try? SafeRemoval(inside: Self.baseDirectory) else { return }
        _ = try? removal.remove(socketDirectory(for: agent))
        _ = try? removal.remove(ownerPath(for: agent))
    }

    /// Removes the socket folders of this grove's agents that are gone
    /// (deleted while the broker was dead, by a killed delete, or by hand),
    /// and of groves that are gone: only folders with an owner note that
    /// names them, never following a link. Returns the agents swept.
    @discardableResult
    public func sweepSocketDirectories() -> [String] {
        guard Self.isPrivateFolder("/tmp/scion-\(getuid())"), Self.isPrivateFolder(Self.baseDirectory),
              let entries = try? FileManager.default.contentsOfDirectory(atPath: Self.baseDirectory) else { return [] }
        var swept: [String] = []
        for entry in entries where entry.hasSuffix(Self.ownerSuffix) {
            guard let note = Self.readNote(Self.baseDirectory + "/" + entry) else { continue }
            let parts = note.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let owner = GroveBroker(grove: Grove(directory: String(decoding: parts[0], as: UTF8.self), isGlobal: false))
            let agent = String(decoding: parts[1], as: UTF8.self)
            // The note must name the folder it lies beside, and the agent (or its grove) must be gone.
            guard owner.ownerPath(for: agent) == Self.baseDirectory + "/" + entry,
                  owner.grove.directory == grove.directory || !FileManager.default.fileExists(atPath: owner.grove.directory),
                  !FileManager.default.fileExists(atPath: AgentStore(grove: owner.grove).directory(agent)) else { continue }
            owner.removeSocketDirectory(for: agent)
            swept.append(agent)
        }
        return swept
    }

    /// A small regular file of this user, read without following a link.
    static func readNote(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid(), info.st_size <= 8192 else {
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count == bytes.count ? bytes : nil
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
