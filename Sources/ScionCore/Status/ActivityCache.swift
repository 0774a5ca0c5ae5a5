import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// `.scion/agents/<name>/remote/`: what scion keeps on the host about an
/// agent on a runtime that does not share the host's paths (a pod). Only
/// scion writes here (the folder is outside the agent's home, private to
/// the user, never mounted or sent anywhere):
///
/// - `events.jsonl` and `follower.json`: the grove broker's follower copies
///   the agent's events as it reads them through the runtime (a long poll),
///   and says in `follower.json` which process it is, which instance it
///   follows, how many bytes of the copy are complete and when it last
///   heard from the runtime. `list` reads the copy instead of one exec per
///   pod while that is current (`current`), and through the runtime otherwise.
/// - `host-write.json`: when scion itself last wrote to the agent's events
///   through the runtime (a message's journal entry); a copy from a read
///   sent before then is not current.
/// - `last-sync.json`: the commit the last `sync from` brought to the
///   agent's branch, and when (shown by `list` once the pod is gone).
public struct ActivityCache: Sendable {
    public let directory: String

    public init(store: AgentStore, name: String) {
        directory = store.directory(name) + "/remote"
    }

    var eventsPath: String { directory + "/events.jsonl" }
    var followerPath: String { directory + "/follower.json" }
    var lastSyncPath: String { directory + "/last-sync.json" }
    var hostWritePath: String { directory + "/host-write.json" }

    /// A follower heard from the runtime this recently (seconds) counts as current.
    /// The follower's long poll waits at most `FollowedAgent.pollSeconds`,
    /// so a live one beats well within this.
    public static let freshness: TimeInterval = 75

    public struct Follower: Codable, Sendable, Equatable {
        public var pid: Int32
        /// The instance (pod) followed; another handle is another run.
        public var handle: String
        /// Bytes of `events.jsonl` copied: the agent's file up to here.
        public var size: UInt64
        /// When the runtime last answered the follower.
        public var heartbeat: Date
        /// When the read that brought the copy to `size` was sent: a copy
        /// from a read sent before scion itself wrote to the agent's events
        /// (`noteHostWrite`) may lack that write. Seconds since 1970, to
        /// the microsecond (the stores' dates are whole seconds).
        public var asked: TimeInterval?
    }

    struct HostWrite: Codable { var at: TimeInterval }

    public struct LastSync: Codable, Sendable, Equatable {
        public var commit: String
        public var at: Date
        /// By the follower (`sync_interval`), not by a command.
        public var periodic: Bool
    }

    // MARK: the follower's side

    /// Starts following `handle`: a copy of another instance starts over.
    public func begin(handle: String) throws -> Follower {
        try prepare()
        if let follower = follower(), follower.handle == handle, follower.size == fileSize(eventsPath) {
            var resumed = follower
            resumed.pid = getpid()
            return resumed
        }
        try AtomicFile.write(Data(), to: eventsPath, mode: 0o600, durable: false)
        return Follower(pid: getpid(), handle: handle, size: 0, heartbeat: .distantPast)
    }

    /// Appends what the runtime sent past `follower.size`, then records the
    /// new size and the heartbeat (the copy is complete up to `size` only
    /// once follower.json says so).
    public func record(_ follower: inout Follower, appending data: Data, asked: Date) throws {
        follower.asked = asked.timeIntervalSince1970
        if !data.isEmpty {
            let descriptor = open(eventsPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard descriptor >= 0 else { throw AtomicFile.posixError("cannot open \(eventsPath)") }
            defer { close(descriptor) }
            // A copy longer than follower.json says (an earlier append cut short) is cut back first.
            guard ftruncate(descriptor, off_t(follower.size)) == 0 else { throw AtomicFile.posixError("cannot truncate \(eventsPath)") }
            try data.withUnsafeBytes { bytes in
                var written = 0
                while written < bytes.count {
                    let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { throw AtomicFile.posixError("cannot write \(eventsPath)") }
                    written += count
                }
            }
            follower.size += UInt64(data.count)
        }
        follower.heartbeat = Date()
        try AtomicFile.write(AgentStore.encoder.encode(follower), to: followerPath, mode: 0o600, durable: false)
    }

    /// The agent's file got shorter (replaced): the copy starts over.
    public func restart(_ follower: inout Follower) throws {
        try AtomicFile.write(Data(), to: eventsPath, mode: 0o600, durable: false)
        follower.size = 0
    }

    /// The follower stops: `list` reads through the runtime again.
    public func end() {
        unlink(followerPath)
    }

    // MARK: the readers' side

    public func follower() -> Follower? {
        FileManager.default.contents(atPath: followerPath).flatMap { try? AgentStore.decoder.decode(Follower.self, from: $0) }
    }

    /// The follower's state when it follows `handle`, is alive and heard
    /// from the runtime within `freshness`; nil otherwise.
    /// Nil too when scion wrote to the agent's events (a message's journal
    /// entry) after the follower's last read was sent, until a later read
    /// brings that write into the copy.
    public func current(handle: String, now: Date = Date()) -> Follower? {
        guard let follower = follower(), follower.handle == handle,
              now.timeIntervalSince(follower.heartbeat) < Self.freshness,
              kill(follower.pid, 0) == 0 || errno == EPERM
        else { return nil }
        if let write = lastHostWrite(), (follower.asked ?? 0) <= write { return nil }
        return follower
    }

    /// scion wrote to the agent's events through the runtime: the copy is
    /// behind until the follower's next read.
    public func noteHostWrite(at date: Date = Date()) throws {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        try AtomicFile.write(AgentStore.encoder.encode(HostWrite(at: date.timeIntervalSince1970)), to: hostWritePath, mode: 0o600, durable: false)
    }

    func lastHostWrite() -> TimeInterval? {
        FileManager.default.contents(atPath: hostWritePath).flatMap { try? AgentStore.decoder.decode(HostWrite.self, from: $0) }?.at
    }

    /// The copy of the agent's events from `offset`, as `read_agent_file` answers.
    func read(from offset: UInt64, follower: Follower) -> AgentFileContents? {
        guard offset < follower.size else { return AgentFileContents(exists: true, data: Data(), size: follower.size) }
        guard let handle = FileHandle(forReadingAtPath: eventsPath) else { return nil }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: offset)
            let data = try handle.read(upToCount: Int(follower.size - offset)) ?? Data()
            return AgentFileContents(exists: true, data: data, size: follower.size)
        } catch {
            return nil
        }
    }

    // MARK: the last sync

    public func recordSync(commit: String, periodic: Bool, at date: Date = Date()) throws {
        try prepare()
        try AtomicFile.write(
            AgentStore.encoder.encode(LastSync(commit: commit, at: date, periodic: periodic)), to: lastSyncPath, mode: 0o600,
            durable: false)
    }

    public func lastSync() -> LastSync? {
        FileManager.default.contents(atPath: lastSyncPath).flatMap { try? AgentStore.decoder.decode(LastSync.self, from: $0) }
    }

    /// Made by the launch of an agent on a runtime that does not share the host's paths.
    public var isRemote: Bool { FileManager.default.fileExists(atPath: directory) }

    func prepare() throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw AtomicFile.posixError("cannot make \(directory)") }
    }

    private func fileSize(_ path: String) -> UInt64 {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_size) : 0
    }
}
