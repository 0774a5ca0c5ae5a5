import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

struct LocalAgentRecord: Codable {
    var name: String
    var labels: [String: String]
    var home: String
    var workdir: String
}

/// The private directory of one local agent: its TMUX_TMPDIR (so its tmux
/// socket) and a small record for `list`. The directory path is the handle.
struct LocalAgentDirectory {
    static var defaultBase: String { "/tmp/scion-\(getuid())" }

    let path: String

    init(path: String) {
        self.path = path
    }

    /// The directory of the agent whose home is `home`: a short hash keeps
    /// the socket path well under the 108-byte limit of unix sockets.
    init(base: String, home: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in home.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        path = base + "/" + String(hash, radix: 16)
    }

    init(handle: String) throws {
        guard handle.hasPrefix("/"), !handle.contains("/../") else {
            throw PluginError(.invalidArgument, "\(handle) is not a local runtime handle")
        }
        path = handle
    }

    /// Where tmux would put the socket for `TMUX_TMPDIR=path`; every tmux
    /// command of the runtime names it with `-S`, so none can ever reach
    /// another server (the user's own default one included).
    var socketDirectory: String { "\(path)/tmux-\(getuid())" }
    var socketPath: String { socketDirectory + "/default" }
    var recordPath: String { path + "/agent.json" }
    var clientEnvironment: [String: String] {
        ["TMUX_TMPDIR": path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }

    /// `tmux -S <socket>` followed by `arguments`.
    func tmux(_ arguments: [String]) -> [String] {
        ["tmux", "-S", socketPath] + arguments
    }

    /// The longest unix socket path (sun_path holds 108 bytes with its NUL).
    static let socketPathLimit = 107

    var record: LocalAgentRecord? {
        FileManager.default.contents(atPath: recordPath).flatMap { try? JSONDecoder().decode(LocalAgentRecord.self, from: $0) }
    }

    /// True when a tmux server accepts connections on the agent's socket.
    var serverIsAlive: Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    func create(record: LocalAgentRecord) throws {
        guard socketPath.utf8.count <= Self.socketPathLimit else {
            throw PluginError(
                .invalidArgument,
                "the tmux socket \(socketPath) would be \(socketPath.utf8.count) bytes long, more than unix sockets allow (\(Self.socketPathLimit)): choose a shorter runtimes.<name>.state_dir")
        }
        let manager = FileManager.default
        let base = (path as NSString).deletingLastPathComponent
        try manager.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.requirePrivate(base)
        for directory in [path, socketDirectory] {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Self.requirePrivate(directory)
        }
        // Renamed into place without an fsync (Foundation's `.atomic` does
        // one: 5-20 ms per start on ext4); after a power cut the host
        // reconciles its records with what runs.
        try UntrustedDirectory(path).write((recordPath as NSString).lastPathComponent, try JSONEncoder().encode(record), mode: 0o600)
    }

    /// Renames the folder to a `.d-` sibling (still listed, so a killed
    /// delete leaves it findable) and returns that; nil when neither exists.
    func retire() throws -> LocalAgentDirectory? {
        let name = (path as NSString).lastPathComponent
        let retiredPath = (path as NSString).deletingLastPathComponent + "/" + (name.hasPrefix(".d-") ? name : ".d-" + name)
        let retired = LocalAgentDirectory(path: retiredPath)
        if retiredPath == path { return FileManager.default.fileExists(atPath: path) ? self : nil }
        if rename(path, retiredPath) == 0 { return retired }
        switch errno {
        case ENOENT:
            // A delete killed after moving it aside left the `.d-` folder.
            return FileManager.default.fileExists(atPath: retiredPath) ? retired : nil
        case EEXIST, ENOTEMPTY:
            try retired.killServer()
            try retired.remove()
            return try retire()
        default:
            throw PluginError(.internal, "cannot move \(path) aside to delete it: \(String(cString: strerror(errno)))")
        }
    }

    /// Ends the agent's tmux server, if one answers.
    func killServer() throws {
        if serverIsAlive {
            _ = try Subprocess.run(tmux(["kill-server"]), environment: clientEnvironment)
        }
    }

    /// A folder holding tmux sockets must be the user's own and closed to
    /// others: in a shared /tmp, someone else could have made it first.
    static func requirePrivate(_ directory: String) throws {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw PluginError(.internal, "cannot inspect \(directory): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid(), info.st_mode & 0o022 == 0 else {
            throw PluginError(
                .permissionDenied,
                "\(directory) is not a private folder of this user (it must be a directory owned by uid \(getuid()), not writable by others): remove it or choose another runtimes.<name>.state_dir")
        }
    }

    /// Removes the folder if it has neither a record nor a live server.
    func removeIfHalfMade() throws {
        guard FileManager.default.fileExists(atPath: path), record == nil, !serverIsAlive else { return }
        try remove()
    }

    func remove() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }

    func state(_ record: LocalAgentRecord) -> RuntimeAgent {
        let exitText = UntrustedDirectory(record.home).text(Tmux.exitPath)
        let exitCode = exitText.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return RuntimeAgent(
            name: record.name, handle: path, state: serverIsAlive ? .running : .stopped,
            labels: record.labels, exitCode: exitCode)
    }
}
