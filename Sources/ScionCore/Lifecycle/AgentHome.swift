import Foundation
import ScionPluginKit

/// Writes an agent's home: the harness's files, credentials (0600), the
/// git identity, and the tmux configuration its session loads. The agent
/// controls its home, so every write goes through UntrustedDirectory: a
/// link it planted (`.claude`, `.scion`, a file) is never followed.
struct AgentHome {
    let path: String

    var directory: UntrustedDirectory { UntrustedDirectory(path) }
    static let scionFolder = ".scion"
    var scionDirectory: String { path + "/" + Self.scionFolder }
    var tmuxConfigPath: String { scionDirectory + "/tmux.conf" }

    func prepare() throws {
        // The home itself sits in the agent's folder, which only the host writes.
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try directory.createDirectory(Self.scionFolder)
    }

    /// A path inside the home, refusing anything that would escape it.
    func resolve(_ relative: String) throws -> String {
        let components = relative.split(separator: "/")
        guard !relative.hasPrefix("/"), !components.isEmpty, !components.contains("..") else {
            throw ScionError(.plugin, "refusing to write \"\(relative)\" outside the agent home \(path)")
        }
        return components.joined(separator: "/")
    }

    func write(_ files: [HomeFile]) throws {
        for file in files {
            try directory.write(try resolve(file.path), Data(file.content.utf8), mode: mode_t(file.mode))
        }
    }

    func copy(_ files: [FileCopy]) throws {
        for file in files {
            let target = try resolve(file.target)
            guard let data = FileManager.default.contents(atPath: file.source) else {
                throw ScionError(.failedPrecondition, "cannot read credential file \(file.source)")
            }
            try directory.write(target, data, mode: mode_t(file.mode & 0o600))
        }
    }

    /// Copies a template's `home/` into the home as what its entries are:
    /// regular files with their permission bits (a script stays
    /// executable), folders, and links that stay inside the template's
    /// `home/` (as links). A link that leads out of it is refused: its
    /// target is never copied.
    func copyTree(from source: String) throws {
        for entry in try TemplateHomeEntry.entries(under: source) {
            switch entry.kind {
            case .directory:
                try directory.createDirectory(entry.relative)
            case .file(let mode):
                let from = source + "/" + entry.relative
                guard let data = TemplateHomeEntry.readRegularFile(from) else {
                    throw ScionError(.failedPrecondition, "cannot read template file \(from)")
                }
                try directory.write(entry.relative, data, mode: mode & 0o777)
            case .link(let target):
                try directory.createSymbolicLink(entry.relative, target: target)
            }
        }
    }

    /// The regular files below `directory`, relative to it and sorted;
    /// links are listed too (they are copied as links), never followed.
    static func regularFiles(under directory: String) -> [String] {
        ((try? TemplateHomeEntry.entries(under: directory)) ?? []).compactMap { entry in
            if case .directory = entry.kind { return nil }
            return entry.relative
        }
    }

    /// The user's identity for the agent's commits, and every worktree
    /// trusted (containers may run under another uid).
    func writeGitConfig(name: String, email: String) throws {
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ") + "\""
        }
        try directory.write(".gitconfig", """
            [user]
            \tname = \(quoted(name))
            \temail = \(quoted(email))
            [safe]
            \tdirectory = *

            """)
    }

    /// The session's tmux configuration; the user's own config (copied in,
    /// so containers see it too) is sourced last.
    func writeTmuxConfig(userConfig: String?) throws {
        var sourced: String?
        if let userConfig, let data = FileManager.default.contents(atPath: userConfig) {
            try directory.write(Self.scionFolder + "/user-tmux.conf", data)
            sourced = scionDirectory + "/user-tmux.conf"
        }
        try directory.write(Self.scionFolder + "/tmux.conf", Tmux.configFile(userConfig: sourced))
    }
}
