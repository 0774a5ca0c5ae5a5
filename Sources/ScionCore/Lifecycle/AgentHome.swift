import Foundation
import ScionPluginKit

/// Writes an agent's home: the harness's files, credentials (0600), the
/// git identity, and the tmux configuration its session loads.
struct AgentHome {
    let path: String

    var scionDirectory: String { path + "/.scion" }
    var tmuxConfigPath: String { scionDirectory + "/tmux.conf" }

    func prepare() throws {
        try FileManager.default.createDirectory(atPath: scionDirectory, withIntermediateDirectories: true)
    }

    /// A path inside the home, refusing anything that would escape it.
    func resolve(_ relative: String) throws -> String {
        let components = relative.split(separator: "/")
        guard !relative.hasPrefix("/"), !components.isEmpty, !components.contains("..") else {
            throw ScionError(.plugin, "refusing to write \"\(relative)\" outside the agent home \(path)")
        }
        return path + "/" + relative
    }

    func write(_ files: [HomeFile]) throws {
        for file in files {
            let target = try resolve(file.path)
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(file.content, to: target, mode: mode_t(file.mode), durable: false)
        }
    }

    func copy(_ files: [FileCopy]) throws {
        for file in files {
            let target = try resolve(file.target)
            guard let data = FileManager.default.contents(atPath: file.source) else {
                throw ScionError(.failedPrecondition, "cannot read credential file \(file.source)")
            }
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(data, to: target, mode: mode_t(file.mode & 0o600), durable: false)
        }
    }

    /// Copies a template's `home/` files into the home, keeping their
    /// permission bits (a script stays executable).
    func copyTree(from source: String) throws {
        for relative in Self.regularFiles(under: source) {
            let from = source + "/" + relative
            let target = try resolve(relative)
            guard let data = FileManager.default.contents(atPath: from) else {
                throw ScionError(.failedPrecondition, "cannot read template file \(from)")
            }
            let permissions = (try? FileManager.default.attributesOfItem(atPath: from)[.posixPermissions] as? Int) ?? 0o644
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try AtomicFile.write(data, to: target, mode: mode_t(permissions & 0o777), durable: false)
        }
    }

    /// The regular files below `directory` (symbolic links followed),
    /// relative to it and sorted.
    static func regularFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    /// The user's identity for the agent's commits, and every worktree
    /// trusted (containers may run under another uid).
    func writeGitConfig(name: String, email: String) throws {
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ") + "\""
        }
        try AtomicFile.write("""
            [user]
            \tname = \(quoted(name))
            \temail = \(quoted(email))
            [safe]
            \tdirectory = *

            """, to: path + "/.gitconfig", durable: false)
    }

    /// The session's tmux configuration; the user's own config (copied in,
    /// so containers see it too) is sourced last.
    func writeTmuxConfig(userConfig: String?) throws {
        var sourced: String?
        if let userConfig, let data = FileManager.default.contents(atPath: userConfig) {
            let copy = scionDirectory + "/user-tmux.conf"
            try AtomicFile.write(data, to: copy, durable: false)
            sourced = copy
        }
        try AtomicFile.write(Tmux.configFile(userConfig: sourced), to: tmuxConfigPath, durable: false)
    }
}
