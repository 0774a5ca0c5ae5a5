import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Grove {
    /// 12 hex digits (48 bits) of the SHA-256 of the canonical path of the
    /// grove's `.scion` folder. Among the groves of one machine a collision
    /// is negligible (about n²/2⁴⁹: one in 10⁹ for a thousand groves).
    static func identity(of directory: String) -> String {
        Digest.sha256Hex(canonicalPath(directory), characters: 12)
    }

    /// The path with symlinks resolved; a path that does not exist yet is
    /// resolved as far as it exists.
    static func canonicalPath(_ path: String) -> String {
        let standardized = (path as NSString).standardizingPath
        if let resolved = realpath(standardized, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let parent = (standardized as NSString).deletingLastPathComponent
        guard parent != standardized, !parent.isEmpty else { return standardized }
        return (canonicalPath(parent) as NSString).appendingPathComponent((standardized as NSString).lastPathComponent)
    }

    /// `<grove>-<id>--<agent>`: an agent's name in its runtime (a container
    /// name). The folder-name part is cut to 40 characters, so the name
    /// stays at most 118 characters, within every engine's limits.
    public func runtimeName(for agent: String) -> String {
        var readable = String(name.prefix(40))
        while readable.hasSuffix("-") { readable.removeLast() }
        return "\(readable.isEmpty ? "grove" : readable)-\(id)--\(agent)"
    }

    /// The label every runtime instance of this grove carries.
    public static let idLabel = "scion.grove_id"
}
