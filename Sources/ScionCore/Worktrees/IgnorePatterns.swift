import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Patterns in gitignore syntax (`.worktreeinclude`, `worktree.copy`):
/// `#` comments, `!` negation (the last match wins), a trailing `/` for
/// folders only, a leading or inner `/` anchoring at the repository's top,
/// `*`, `?`, `[...]` and `**` as git reads them.
public struct IgnorePatterns: Sendable {
    struct Pattern: Sendable {
        var glob: String
        var negated: Bool
        var directoryOnly: Bool
        var anchored: Bool
    }

    let patterns: [Pattern]

    public var isEmpty: Bool { patterns.isEmpty }

    /// True when some pattern names a path below a folder (it has a `/`
    /// other than a trailing one), so an ignored folder may hold a match.
    public var reachesIntoFolders: Bool { patterns.contains { $0.anchored } }

    public init(lines: [String]) {
        patterns = lines.compactMap { line in
            var text = Substring(line)
            while text.last == " " && !text.hasSuffix("\\ ") { text = text.dropLast() }
            guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
            var negated = false
            if text.hasPrefix("!") {
                negated = true
                text = text.dropFirst()
            } else if text.hasPrefix("\\!") || text.hasPrefix("\\#") {
                text = text.dropFirst()
            }
            var directoryOnly = false
            if text.hasSuffix("/") {
                directoryOnly = true
                text = text.dropLast()
            }
            let anchored = text.contains("/")
            if text.hasPrefix("/") { text = text.dropFirst() }
            guard !text.isEmpty else { return nil }
            return Pattern(glob: String(text), negated: negated, directoryOnly: directoryOnly, anchored: anchored)
        }
    }

    public init(text: String) {
        self.init(lines: text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        })
    }

    /// Whether `path` (relative to the top, `/`-separated) is matched.
    public func matches(_ path: String, isDirectory: Bool) -> Bool {
        var matched = false
        for pattern in patterns where !(pattern.directoryOnly && !isDirectory) {
            if Self.matches(pattern, path) { matched = !pattern.negated }
        }
        return matched
    }

    private static func matches(_ pattern: Pattern, _ path: String) -> Bool {
        if pattern.anchored { return glob(pattern.glob, path) }
        // No slash: the name at any depth.
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return glob(pattern.glob, name)
    }

    /// `**/` matches any number of folders, `/**` everything below, other
    /// wildcards stay inside one path component (fnmatch's FNM_PATHNAME).
    static func glob(_ glob: String, _ path: String) -> Bool {
        if glob.hasPrefix("**/") {
            let rest = String(glob.dropFirst(3))
            if Self.glob(rest, path) { return true }
            var components = path.split(separator: "/").map(String.init)
            while components.count > 1 {
                components.removeFirst()
                if Self.glob(rest, components.joined(separator: "/")) { return true }
            }
            return false
        }
        if glob.hasSuffix("/**") {
            let prefix = String(glob.dropLast(3))
            let components = path.split(separator: "/").map(String.init)
            for count in stride(from: components.count - 1, through: 1, by: -1) where Self.glob(prefix, components.prefix(count).joined(separator: "/")) {
                return true
            }
            return false
        }
        if let range = glob.range(of: "/**/") {
            let head = String(glob[..<range.lowerBound])
            let tail = String(glob[range.upperBound...])
            let components = path.split(separator: "/").map(String.init)
            for split in 1..<max(components.count, 1) where Self.glob(head, components.prefix(split).joined(separator: "/")) {
                if Self.glob("**/" + tail, components.dropFirst(split).joined(separator: "/")) { return true }
            }
            return false
        }
        return fnmatch(glob, path, FNM_PATHNAME) == 0
    }
}
