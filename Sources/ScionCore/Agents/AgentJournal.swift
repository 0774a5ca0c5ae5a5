import Foundation

/// `.scion/agents/<name>/journal.jsonl`: what scion did for and to an agent
/// that its window does not show: messages it sent and received, notices
/// about its children, refusals. On the host, in the agent's folder (not
/// its home, which the agent controls). One JSON object per line, appended
/// with O_APPEND in one write; `scion logs <agent> --journal` prints it.
public struct AgentJournal: Sendable {
    public static let fileName = "journal.jsonl"

    public enum Kind: String, Codable, Sendable {
        case messageSent = "message_sent", messageReceived = "message_received"
        case notice, refused
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var at: Date
        public var kind: Kind
        /// The other agent (the receiver of a sent message, the sender of a
        /// received one, the child a notice is about); nil for the user.
        public var peer: String?
        public var text: String
    }

    public let path: String

    public init(directory: String) { path = directory + "/" + Self.fileName }

    public func append(_ kind: Kind, peer: String? = nil, text: String) {
        let entry = Entry(at: Date(), kind: kind, peer: peer, text: text)
        guard var line = try? Self.encoder.encode(entry) else { return }
        line.append(0x0A)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    func refused(_ sentence: String) { append(.refused, text: sentence) }

    public func entries() -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? AgentStore.decoder.decode(Entry.self, from: Data($0)) }
    }
}

extension Orchestrator {
    /// An agent's journal, oldest first.
    public func journalEntries(_ name: String) throws -> [AgentJournal.Entry] {
        guard store.exists(name) else { throw ScionError(.notFound, "no agent named \(name) in grove \(grove.root)") }
        return journal(name).entries()
    }
}
