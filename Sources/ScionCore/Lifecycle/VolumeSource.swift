import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a volume's source really is. An absolute source (or one starting
/// with `~`) is the path the user wrote; a relative one is resolved
/// against a base folder (the grove for settings, the template's folder
/// for a template) and must stay inside it once `..` and symbolic links
/// are resolved, so `../../../etc` or a committed link to `/` mounts
/// nothing.
enum VolumeSource {
    /// The absolute source for `source`; `describe` names the volume's
    /// origin (file:line and key) for the error.
    static func resolve(_ source: String, base: String, describe: () -> String) throws -> String {
        let expanded = (source as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        let lexical = ((base + "/" + expanded) as NSString).standardizingPath
        let boundary = realPath(base) ?? (base as NSString).standardizingPath
        let resolved = realPath(lexical) ?? lexical
        guard isInside(lexical, (base as NSString).standardizingPath), isInside(resolved, boundary) else {
            throw ScionError(
                .invalidSettings,
                "\(describe()): volume source \"\(source)\" leads to \(resolved), outside \(base): a relative source must stay inside it; write an absolute path if you mean a folder elsewhere")
        }
        return resolved
    }

    static func isInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// "file:line: key" of the settings entry holding `volume`, for errors.
    static func origin(of volume: String, in tree: SettingsNode?) -> String {
        func search(_ node: SettingsNode, _ path: String) -> String? {
            if let entries = node.entries {
                for (key, child) in entries {
                    if let found = search(child, path.isEmpty ? key : path + "." + key) { return found }
                }
            } else if let items = node.items, path.hasSuffix("volumes") {
                if let item = items.first(where: { $0.scalar == volume }) { return "\(item.origin): \(path)" }
            }
            return nil
        }
        return tree.flatMap { search($0, "") } ?? "settings"
    }
}
