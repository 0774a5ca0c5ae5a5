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
        try AtomicFile.write(Self.encoder.encode(record), to: recordPath(record.name))
    }

    /// Every agent folder: its record, or nil where the record is missing.
    public func all() -> [(name: String, record: AgentRecord?)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: grove.agentsDirectory)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { name in
            let record = FileManager.default.contents(atPath: recordPath(name)).flatMap {
                try? Self.decoder.decode(AgentRecord.self, from: $0)
            }
            return (name, record)
        }
    }

    /// Serializes lifecycle operations on one agent across processes.
    public func lock(_ name: String) throws -> FileLock {
        try FileLock.acquire(lockPath(name))
    }

    /// True when some process holds the agent's lock right now.
    public func isBusy(_ name: String) -> Bool {
        guard exists(name), let lock = try? FileLock.tryAcquire(lockPath(name)) else { return exists(name) }
        _ = lock
        return false
    }

    public func remove(_ name: String) throws {
        guard exists(name) else { return }
        try FileManager.default.removeItem(atPath: directory(name))
    }
}
