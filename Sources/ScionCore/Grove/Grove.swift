import Foundation

/// A grove: the `.scion/` folder of a project (or `~/.scion`, the global
/// grove) that holds its settings, templates and agents.
public struct Grove: Sendable, Equatable {
    /// The folder that contains `.scion` (the repository root), or the
    /// user's home for the global grove.
    public let root: String
    /// The `.scion` folder itself.
    public let directory: String
    public let isGlobal: Bool
    /// The grove's identity: 12 hex digits of the SHA-256 of its canonical
    /// (symlink-free) directory, so two clones with the same folder name
    /// never share container names or labels (see Grove+Identity.swift).
    public let id: String

    public init(directory: String, isGlobal: Bool) {
        self.directory = directory
        self.root = (directory as NSString).deletingLastPathComponent
        self.isGlobal = isGlobal
        self.id = Self.identity(of: directory)
    }

    /// The grove's name, the readable part of container names (`<grove>-<id>--<agent>`).
    public var name: String { AgentName.slug(isGlobal ? "global" : (root as NSString).lastPathComponent) }
    public var agentsDirectory: String { directory + "/agents" }
    public var templatesDirectory: String { directory + "/templates" }
    public var settingsFile: String { SettingsLoader.settingsFile(in: directory) }
    public var lockFile: String { directory + "/.grove.lock" }

    /// Finds the grove for `path`: an agent's worktree belongs to the grove
    /// it lives in, not to the `.scion` its checkout may contain; otherwise
    /// the nearest `.scion` folder walking up, skipping the global one.
    public static func find(from path: String, globalDirectory: String) -> Grove? {
        let standardized = (path as NSString).standardizingPath
        if let range = standardized.range(of: "/.scion/agents/") {
            let directory = String(standardized[..<range.lowerBound]) + "/.scion"
            return Grove(directory: directory, isGlobal: directory == globalDirectory)
        }
        var current = standardized
        while true {
            let candidate = current + "/.scion"
            var isDirectory: ObjCBool = false
            if candidate != globalDirectory,
               FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return Grove(directory: candidate, isGlobal: false)
            }
            if current == "/" || current.isEmpty { return nil }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    public static let agentsIgnoreEntry = ".scion/agents/"

    static let seedSettings = """
    # scion grove settings. Values here override ~/.scion/settings.yaml;
    # SCION_* environment variables and command-line flags override both.
    # Reference: docs/settings.md
    schema_version: "1"
    # active_profile: local        # local | docker | podman | remote, or your own
    # default_harness_config: shell
    # profiles:
    #   docker:
    #     runtime: docker
    #     env: { EXAMPLE: value }
    #     resources: { memory: 4g, cpus: "2" }

    """

    /// Creates the grove (idempotent): `.scion/`, `settings.yaml`, the
    /// agents folder and its `.gitignore` entry. Returns what it did.
    /// The settings file it writes is recorded as trusted in `trust` (the
    /// user's store): scion wrote it, so it is the user's own.
    public static func initialize(root: String, isGlobal: Bool, trust: TrustStore? = nil) throws -> (grove: Grove, actions: [String]) {
        let grove = Grove(directory: root + "/.scion", isGlobal: isGlobal)
        var actions: [String] = []
        let manager = FileManager.default
        for directory in [grove.directory, grove.agentsDirectory, grove.templatesDirectory] + (isGlobal ? [grove.directory + "/plugins"] : [])
        where !manager.fileExists(atPath: directory) {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            actions.append("created \(directory)")
        }
        if !manager.fileExists(atPath: grove.settingsFile) {
            try AtomicFile.write(seedSettings, to: grove.settingsFile)
            if !isGlobal { try trust?.update(trust: [(grove.settingsFile, Data(seedSettings.utf8))]) }
            actions.append("wrote \(grove.settingsFile)")
        }
        if !isGlobal {
            let gitignore = root + "/.gitignore"
            let existing = (try? String(contentsOfFile: gitignore, encoding: .utf8)) ?? ""
            let lines = existing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            if !lines.contains(agentsIgnoreEntry) && !lines.contains("/" + agentsIgnoreEntry) {
                let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
                try AtomicFile.write(existing + separator + agentsIgnoreEntry + "\n", to: gitignore)
                actions.append("added \(agentsIgnoreEntry) to \(gitignore)")
            }
        }
        return (grove, actions)
    }
}
