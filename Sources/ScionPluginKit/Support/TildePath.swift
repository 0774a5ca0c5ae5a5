import Foundation

/// `~` and `~/x` expanded against a home folder given explicitly (the
/// caller's HOME, as scion uses everywhere), not the password database.
public enum TildePath {
    public static func expand(_ path: String, home: String?) -> String {
        guard let home = home ?? ProcessInfo.processInfo.environment["HOME"], !home.isEmpty else {
            return (path as NSString).expandingTildeInPath
        }
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return (path as NSString).expandingTildeInPath
    }
}
