import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The agents of one grove on disk: one folder each, holding the record
/// (`agent.json`), the home and the worktree. Creating the folder reserves
/// the name (mkdir is atomic), so two processes never both create an agent.
public struct AgentStore: Sendable {
    public let grove: Grove

    public init(grove: Grove) {
        self.grove = grove
    }

    public func directory(_ name: String) -> String { grove.agentsDirectory + "/" + name }
    public func recordPath(_ name: String) -> String { directory(name) + "/agent.json" }
    public func homePath(_ name: String) -> String { directory(name) + "/home" }
    public func worktreePath(_ name: String) -> String { directory(name) + "/workspace" }
    func lockPath(_ name: String) -> String { directory(name) + "/.lock" }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Reserves `name`; fails if an agent of that name exists.
    public func reserve(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: grove.agentsDirectory, withIntermediateDirectories: true)
        guard mkdir(directory(name), 0o755) == 0 else {
            if errno == EEXIST {
                let phase = (try? load(name)).map { " (\($0.phase.rawValue))" } ?? ""
                throw ScionError(.alreadyExists, "agent \(name) already exists\(phase): delete it first or choose another name")
            }
            throw AtomicFile.posixError("cannot create \(directory(name))")
        }
    }

    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: directory(name))
    }

    public func load(_ name: String) throws -> AgentRecord {
        guard let data = FileManager.default.contents(atPath: recordPath(name)) else {
            if exists(name) {
                throw ScionError(.failedPrecondition, "agent \(name) has no record (its start was interrupted); `scion delete \(name)` cleans it up")
            }
            throw ScionError(.notFound, "no agent named \(name) in grove \(grove.root)")
        }
        do {
            return try Self.decoder.decode(AgentRecord.self, from: data)
        } catch {
            throw ScionError(.internal, "agent record \(recordPath(name)) is damaged: \(error)", cause: error)
        }
    }

    public func save(_ record: AgentRecord) throws {
        var record = record
        record.updatedAt = Date()
        try AtomicFile.write(Self.encoder.encode(record), to: recordPath(record.name), durable: false)
    }

    /// The names of the agent folders, sorted, without reading their records.
    public func names() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: grove.agentsDirectory)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Every agent folder: its record, or nil where the record is missing.
    public func all() -> [(name: String, record: AgentRecord?)] {
        names().map { name in
            let record = FileManager.default.contents(atPath: recordPath(name)).flatMap {
                try? Self.decoder.decode(AgentRecord.self, from: $0)
            }
            return (name, record)
        }.filter { $0.record != nil || exists($0.name) }
    }

    /// Serializes lifecycle operations on one agent across processes. A name
    /// with no agent folder, or whose folder was deleted while this process
    /// waited for the lock, is "no agent named …".
    public func lock(_ name: String) throws -> FileLock {
        for _ in 0..<10 {
            guard exists(name) else { throw noAgent(name) }
            let lock: FileLock
            do {
                lock = try FileLock.acquire(lockPath(name), subject: "agent \(name)")
            } catch let error as ScionError where error.code == .notFound {
                continue
            }
            // Deleted (and perhaps made again) while we waited: look again.
            if lock.isStillAtPath { return lock }
        }
        throw noAgent(name)
    }

    func noAgent(_ name: String) -> ScionError {
        ScionError(.notFound, "no agent named \(name) in grove \(grove.root)")
    }

    /// True when some process holds the agent's lock right now.
    public func isBusy(_ name: String) -> Bool {
        guard exists(name) else { return false }
        guard let lock = try? FileLock.tryAcquire(lockPath(name), create: false) else {
            // No lock file: nobody can hold it, unless the folder is being made.
            return exists(name) && FileManager.default.fileExists(atPath: lockPath(name))
        }
        _ = lock
        return false
    }

    /// Removes the agent's folder. It is first renamed to a hidden
    /// tombstone, so the name disappears at once (nothing can create a lock
    /// file or a record in it any more) and the tree is then removed without
    /// following any symlink the agent planted.
    public func remove(_ name: String) throws {
        guard exists(name) else { return }
        let tombstone = grove.agentsDirectory + "/\(Self.tombstonePrefix)\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard rename(directory(name), tombstone) == 0 else {
            if errno == ENOENT { return }
            throw AtomicFile.posixError("cannot remove agent folder \(directory(name))")
        }
        try SafeRemoval(inside: grove.agentsDirectory).remove(tombstone)
    }

    static let tombstonePrefix = ".deleted-"

    /// Removes tombstones left by a delete that was killed while removing
    /// (older than a minute, so a delete still at work keeps its own).
    public func sweepTombstones() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: grove.agentsDirectory)) ?? []
        guard let removal = try? SafeRemoval(inside: grove.agentsDirectory) else { return }
        for name in names where name.hasPrefix(Self.tombstonePrefix) {
            let path = grove.agentsDirectory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, time(nil) - info.st_ctim.tv_sec > 60 else { continue }
            _ = try? removal.remove(path)
        }
    }
}
