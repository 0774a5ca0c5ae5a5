import Foundation
import Logging
import ScionAgentEvents
import ScionPluginKit

/// `<home>/.scion/status.json`, written only by the host: the activity it
/// derived from the agent's events, how far into events.jsonl that goes,
/// and which activity change a notification was sent for.
struct AgentStatusFile: Codable, Equatable {
    var current: AgentActivity?
    /// Bytes of events.jsonl already applied.
    var eventsOffset: UInt64 = 0
    /// Counts activity changes, so "notified" names one change exactly.
    var changes = 0
    var notifiedChange: Int?
    /// An explicit report waits for the harness to end the turn.
    var heldUntilTurnEnd = false

    static let relativePath = ".scion/status.json"

    init() {}

    enum CodingKeys: String, CodingKey {
        case activity, message, updatedAt = "updated_at", eventsOffset = "events_offset", changes
        case notifiedChange = "notified_change", heldUntilTurnEnd = "held_until_turn_end"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let activity = try container.decodeIfPresent(Activity.self, forKey: .activity) {
            current = AgentActivity(
                activity: activity, message: try container.decodeIfPresent(String.self, forKey: .message),
                updatedAt: try container.decodeIfPresent(Date.self, forKey: .updatedAt) ?? Date())
        }
        eventsOffset = try container.decodeIfPresent(UInt64.self, forKey: .eventsOffset) ?? 0
        changes = try container.decodeIfPresent(Int.self, forKey: .changes) ?? 0
        notifiedChange = try container.decodeIfPresent(Int.self, forKey: .notifiedChange)
        heldUntilTurnEnd = try container.decodeIfPresent(Bool.self, forKey: .heldUntilTurnEnd) ?? false
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(current?.activity, forKey: .activity)
        try container.encodeIfPresent(current?.message, forKey: .message)
        try container.encodeIfPresent(current?.updatedAt, forKey: .updatedAt)
        try container.encode(eventsOffset, forKey: .eventsOffset)
        try container.encode(changes, forKey: .changes)
        try container.encodeIfPresent(notifiedChange, forKey: .notifiedChange)
        try container.encode(heldUntilTurnEnd, forKey: .heldUntilTurnEnd)
    }
}

/// The host side of live status. The agent only records raw events
/// (`scion-agent hook`, `scion status`); this reads the ones past the
/// offset in the status file, normalizes hook events through the agent's
/// harness plugin, applies the sticky rules and rewrites the status file.
/// When nothing changed it costs one stat and one small read.
struct EventLog {
    let home: String
    /// Reads events.jsonl from a byte offset through the agent's runtime,
    /// for a runtime that does not share the host's paths; nil reads it in
    /// `home`. The status file and its lock stay in `home` on the host
    /// (only the host writes them; such an agent never sees that folder).
    var remoteEvents: (@Sendable (UInt64) throws -> AgentFileContents?)?

    var eventsPath: String { home + "/" + AgentEvents.relativePath }
    var statusPath: String { home + "/" + AgentStatusFile.relativePath }
    /// The agent controls its home: every file here is opened without
    /// following links (a planted `.scion` link leads nowhere).
    var directory: UntrustedDirectory { UntrustedDirectory(home) }
    static let lockRelativePath = ".scion/status.lock"

    struct State {
        var activity: AgentActivity?
        /// Set once per change into an activity worth a notification.
        var notify: AgentActivity?
    }

    /// One line of events.jsonl.
    struct RecordedEvent: Decodable {
        var kind: String
        var event: String
        var payload: JSONValue?
        var message: String?
    }

    private let logger = Logger(label: "scion.status")

    init(home: String, remoteEvents: (@Sendable (UInt64) throws -> AgentFileContents?)? = nil) {
        self.home = home
        self.remoteEvents = remoteEvents
    }

    /// The activity as last written, without reading new events.
    var stored: AgentActivity? { readStatus().current }

    /// Applies new events, then `exit` (what the harness's exit status
    /// means, once it has exited). `harness` is asked for only when there
    /// are hook events to normalize.
    func refresh(exit: ActivityUpdate?, harness: () throws -> any HarnessDriver) throws -> State {
        let quick = readStatus()
        let quickSize = try remoteEvents.map { try $0(quick.eventsOffset)?.size ?? 0 } ?? fileSize(AgentEvents.relativePath)
        if quickSize == quick.eventsOffset, !changes(quick.current, exit: exit) {
            return State(activity: quick.current)
        }
        let lock = try FileLock.acquire(Self.lockRelativePath, in: directory)
        return try withExtendedLifetime(lock) {
            var status = readStatus()
            let before = status
            var client: (any HarnessDriver)?
            let (lines, consumed): ([Data], UInt64)
            if let remoteEvents {
                var contents = try remoteEvents(status.eventsOffset)
                if let size = contents?.size, size < status.eventsOffset {
                    status.eventsOffset = 0
                    contents = try remoteEvents(0)
                }
                (lines, consumed) = Self.completeLines(contents?.data ?? Data())
            } else {
                let size = fileSize(AgentEvents.relativePath)
                if size < status.eventsOffset { status.eventsOffset = 0 }
                (lines, consumed) = try readLines(from: status.eventsOffset, to: size)
            }
            for line in lines {
                guard let event = try? AgentStore.decoder.decode(RecordedEvent.self, from: line) else {
                    logger.debug("\(eventsPath): skipping an unreadable line")
                    continue
                }
                let update: ActivityUpdate
                let source: ActivityRules.Source
                switch event.kind {
                case AgentEvents.hookKind:
                    if client == nil { client = try harness() }
                    do {
                        update = try client!.normalizeHook(HookEvent(event: event.event, payload: event.payload ?? .null))
                    } catch {
                        logger.warning("the harness could not read a \(event.event) event of \(home): \(error)")
                        continue
                    }
                    source = .hook
                case AgentEvents.statusKind:
                    guard let kind = StatusKind(word: event.event) else { continue }
                    update = ActivityUpdate(activity: ActivityRules.activity(for: kind), message: event.message)
                    source = .explicit
                case AgentEvents.inputKind:
                    update = ActivityUpdate(activity: .thinking)
                    source = .host
                default:
                    continue
                }
                ActivityRules.apply(update, from: source, to: &status, at: Date())
            }
            status.eventsOffset += consumed
            if let exit, changes(status.current, exit: exit) {
                // The harness has ended: its exit status is the last word.
                ActivityRules.apply(exit, from: .host, to: &status, at: Date())
            }
            var state = State(activity: status.current)
            if let current = status.current, ActivityRules.notified.contains(current.activity),
               status.notifiedChange != status.changes {
                status.notifiedChange = status.changes
                state.notify = current
            }
            if status != before {
                try directory.write(AgentStatusFile.relativePath, AgentStore.encoder.encode(status))
            }
            return state
        }
    }

    /// Forgets the previous run's events and activity (before a launch).
    func reset() throws {
        try directory.createDirectory(".scion")
        let lock = try FileLock.acquire(Self.lockRelativePath, in: directory)
        try withExtendedLifetime(lock) {
            try directory.remove(AgentEvents.relativePath)
            try directory.remove(AgentStatusFile.relativePath)
        }
    }

    /// An exit that the current activity does not already say.
    private func changes(_ current: AgentActivity?, exit: ActivityUpdate?) -> Bool {
        guard let exit else { return false }
        return current?.activity != exit.activity
    }

    private func readStatus() -> AgentStatusFile {
        (try? directory.read(AgentStatusFile.relativePath)).flatMap { $0 }.flatMap {
            try? AgentStore.decoder.decode(AgentStatusFile.self, from: $0)
        } ?? AgentStatusFile()
    }

    private func fileSize(_ relative: String) -> UInt64 {
        directory.size(relative)
    }

    /// The complete lines between `offset` and `size`, and how many bytes
    /// they span; a line still being written stays for the next refresh.
    private func readLines(from offset: UInt64, to size: UInt64) throws -> ([Data], UInt64) {
        guard size > offset, let handle = try directory.openForReading(AgentEvents.relativePath) else { return ([], 0) }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return Self.completeLines(try handle.read(upToCount: Int(size - offset)) ?? Data())
    }

    /// The complete lines of `data` and how many bytes they span.
    static func completeLines(_ data: Data) -> ([Data], UInt64) {
        guard let last = data.lastIndex(of: 0x0A) else { return ([], 0) }
        let complete = data[data.startIndex...last]
        let lines = complete.split(separator: 0x0A).map { Data($0) }
        return (lines, UInt64(complete.count))
    }
}
