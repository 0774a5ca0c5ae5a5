import Foundation

/// The files the user has trusted, by content, as direnv does: each entry
/// is a file's canonical path and the SHA-256 of the content the user
/// allowed. Editing the file (a `git pull`, a checkout, an agent) makes it
/// untrusted again until `scion trust` is run again. Stored in
/// `~/.scion/trusted.json` (mode 0600), replaced atomically under a lock.
public struct TrustStore: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var trustedAt: Date

        enum CodingKeys: String, CodingKey {
            case path, sha256, trustedAt = "trusted_at"
        }
    }

    /// What a file's current content is, compared with the store.
    public enum State: String, Sendable, Codable {
        /// The content is the one the user trusted.
        case trusted
        /// Never trusted.
        case untrusted
        /// Trusted once, edited since.
        case changed
    }

    struct Document: Codable {
        var schemaVersion: Int
        var files: [Entry]

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version", files
        }
    }

    /// `~/.scion/trusted.json`.
    public let file: String

    public init(globalDirectory: String) {
        file = globalDirectory + "/trusted.json"
    }

    public static func sha256(_ data: Data) -> String {
        Digest.sha256Hex(data)
    }

    /// The path with the symlinks of its folders resolved, so a moved or
    /// linked repository is a different one (as for direnv). The last
    /// component stays as it is: a link is trusted as a link (its text),
    /// not as the file it points at.
    public static func canonicalPath(_ path: String) -> String {
        let standardized = (path as NSString).standardizingPath
        let parent = (standardized as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != standardized, let resolved = realpath(parent, nil) else { return standardized }
        defer { free(resolved) }
        let folder = String(cString: resolved)
        return (folder == "/" ? "" : folder) + "/" + (standardized as NSString).lastPathComponent
    }

    /// Every entry; an unreadable or malformed store counts as empty (so
    /// nothing is trusted) and says so once.
    public func entries() -> [String: Entry] {
        decodedFiles(Document.self).map { Dictionary($0.files.map { ($0.path, $0) }) { $1 } } ?? [:]
    }

    /// Each trusted path's SHA-256: what `state` needs, read without the
    /// dates (every command that loads a grove's settings asks).
    public func fingerprints() -> [String: String] {
        decodedFiles(FingerprintDocument.self).map { Dictionary($0.files.map { ($0.path, $0.sha256) }) { $1 } } ?? [:]
    }

    /// The state of a file whose content is `data`, read from `path`.
    public func state(of path: String, data: Data, fingerprints: [String: String]? = nil) -> State {
        let fingerprints = fingerprints ?? self.fingerprints()
        guard let sha256 = fingerprints[Self.canonicalPath(path)] else { return .untrusted }
        return sha256 == Self.sha256(data) ? .trusted : .changed
    }

    private struct FingerprintDocument: Decodable {
        struct File: Decodable { var path: String; var sha256: String }
        var files: [File]
    }

    private func decodedFiles<D: Decodable>(_ type: D.Type) -> D? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        do {
            return try Self.decoder.decode(type, from: data)
        } catch {
            TrustNotice.shared.announce(
                "\(file) is not valid JSON (\(error.localizedDescription)); no repository file counts as trusted until `scion trust` rewrites it")
            return nil
        }
    }

    /// Records `files` (path and current content) as trusted and removes
    /// the entries for `revoked` paths, in one atomic update.
    public func update(trust files: [(path: String, data: Data)], revoke revoked: [String] = []) throws {
        let directory = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = try FileLock.acquire(directory + "/.trusted.lock")
        defer { withExtendedLifetime(lock) {} }
        var current = entries()
        for path in revoked { current[Self.canonicalPath(path)] = nil }
        let now = Date()
        for (path, data) in files {
            let canonical = Self.canonicalPath(path)
            current[canonical] = Entry(path: canonical, sha256: Self.sha256(data), trustedAt: now)
        }
        let document = Document(schemaVersion: 1, files: current.values.sorted { $0.path < $1.path })
        try AtomicFile.write(try Self.encoder.encode(document), to: file, mode: 0o600)
    }

    /// For files scion itself writes on the user's behalf (`config set`,
    /// `templates create`, `init`): the new content stays trusted when the
    /// old one was, or when there was no file before.
    public func recordWrite(_ path: String, previous: Data?) throws {
        guard previous == nil || state(of: path, data: previous!) == .trusted,
              let data = FileManager.default.contents(atPath: path) else { return }
        try update(trust: [(path, data)])
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
