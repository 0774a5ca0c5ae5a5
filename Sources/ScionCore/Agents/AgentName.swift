/// Agent names become directory names, git branch names, tmux and container
/// names, so they are checked once, here (template names, which become
/// folder names, follow the same rules).
public enum AgentName {
    public static func validate(_ name: String, kind: String = "agent") throws {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        let problem: String?
        if name.isEmpty {
            problem = "it is empty"
        } else if name.count > 63 {
            problem = "it is longer than 63 characters"
        } else if !allowed {
            problem = "it may hold only letters, digits, '-', '_' and '.'"
        } else if name.hasPrefix(".") || name.hasPrefix("-") {
            problem = "it may not start with '.' or '-'"
        } else if name.contains("..") || name.hasSuffix(".lock") || name.hasSuffix(".") {
            problem = "it may not contain '..' or end with '.' or '.lock'"
        } else {
            problem = nil
        }
        if let problem {
            let suggestion = slug(name)
            let hint = suggestion.isEmpty || suggestion == name ? "" : " (try \"\(suggestion)\")"
            throw ScionError(.invalidArgument, "invalid \(kind) name \"\(name)\": \(problem)\(hint)")
        }
    }

    /// Lowercase letters, digits and single dashes: safe as a branch name,
    /// a tmux session and a container name.
    public static func slug(_ text: String) -> String {
        var result = ""
        for character in text.lowercased() {
            if character.isASCII && (character.isLetter || character.isNumber) {
                result.append(character)
            } else if !result.isEmpty && !result.hasSuffix("-") {
                result.append("-")
            }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return String(result.prefix(63))
    }

    /// git's name for an agent's worktree (`.git/worktrees/<name>`), one per
    /// agent name: `scion-<slug>` when the name is its own slug, otherwise
    /// the slug and 8 hex digits of the name's SHA-256, so `Feature` and
    /// `feature` (one slug) never share a worktree entry.
    public static func worktreeName(_ name: String) -> String {
        let slug = slug(name)
        return slug == name ? "scion-\(slug)" : "scion-\(slug)-\(Digest.sha256Hex(name, characters: 8))"
    }
}
