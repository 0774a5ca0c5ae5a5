import Foundation

/// `scion trust` for one grove: which of its own files (`settings.yaml`
/// and every file under `templates/`) the user has trusted, and the
/// commands that change that.
public struct GroveTrust: Sendable {
    public struct FileStatus: Sendable, Encodable, Equatable {
        /// The file's canonical path.
        public var path: String
        public var state: TrustStore.State
        /// SHA-256 of its current content.
        public var sha256: String
    }

    public let grove: Grove
    public let store: TrustStore

    public init(grove: Grove, globalDirectory: String) {
        self.grove = grove
        self.store = TrustStore(globalDirectory: globalDirectory)
    }

    /// The grove's files that trust covers, sorted.
    public func files() -> [String] {
        var files: [String] = []
        if Self.content(grove.settingsFile) != nil { files.append(grove.settingsFile) }
        files += Self.filesUnder(grove.templatesDirectory)
        return files
    }

    public func status() -> [FileStatus] {
        let fingerprints = store.fingerprints()
        return files().compactMap { path in
            guard let data = Self.content(path) else { return nil }
            return FileStatus(
                path: TrustStore.canonicalPath(path), state: store.state(of: path, data: data, fingerprints: fingerprints),
                sha256: TrustStore.sha256(data))
        }
    }

    /// Trusts every file as it is now; returns the ones that were not trusted before.
    @discardableResult
    public func trustAll() throws -> [FileStatus] {
        let before = status()
        try store.update(trust: files().compactMap { path in Self.content(path).map { (path, $0) } })
        return before.filter { $0.state != .trusted }
    }

    /// Forgets every file of the grove, including files removed since they
    /// were trusted; returns the paths forgotten.
    @discardableResult
    public func revoke() throws -> [String] {
        let prefix = TrustStore.canonicalPath(grove.directory) + "/"
        let recorded = store.entries().keys.filter { $0.hasPrefix(prefix) }.sorted()
        try store.update(trust: [], revoke: recorded)
        return recorded
    }

    /// True when every file of the template folder is trusted as it is now
    /// (an added file makes the template untrusted too).
    public static func isTrusted(templateDirectory: String, store: TrustStore) -> Bool {
        let fingerprints = store.fingerprints()
        return filesUnder(templateDirectory).allSatisfy { path in
            Self.content(path).map { store.state(of: path, data: $0, fingerprints: fingerprints) == .trusted } ?? true
        }
    }

    /// What trust covers in a file: its bytes, or for a symbolic link the
    /// place it points to (a link is trusted as a link, never through it).
    static func content(_ path: String) -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let type = attributes[.type] as? FileAttributeType
        else { return nil }
        switch type {
        case .typeSymbolicLink:
            return (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { Data("symlink:\($0)".utf8) }
        case .typeRegular:
            return FileManager.default.contents(atPath: path)
        default:
            return nil
        }
    }

    /// Files (and links) under a folder, recursively, without following links.
    static func filesUnder(_ directory: String) -> [String] {
        var found: [String] = []
        func walk(_ folder: String) {
            let entries = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for entry in entries {
                let path = folder + "/" + entry
                let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
                if type == .typeDirectory { walk(path) } else if type == .typeRegular || type == .typeSymbolicLink { found.append(path) }
            }
        }
        walk(directory)
        return found
    }
}
