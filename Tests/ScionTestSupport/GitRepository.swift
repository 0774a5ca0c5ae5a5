import Foundation

/// A real git repository with one commit, in a temporary directory.
public final class GitRepository: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public var path: String { directory.path }

    public init() throws {
        directory = try TemporaryDirectory("scion-repo")
        try Shell.check(["git", "init", "-q", "-b", "main", path])
        try Shell.check(["git", "-C", path, "config", "user.name", "Test User"])
        try Shell.check(["git", "-C", path, "config", "user.email", "test@example.com"])
        try directory.write("README.md", "test repository\n")
        try Shell.check(["git", "-C", path, "add", "README.md"])
        try Shell.check(["git", "-C", path, "commit", "-q", "-m", "initial"])
    }

    public func git(_ arguments: String...) throws -> String {
        try Shell.check(["git", "-C", path] + arguments).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func branches() throws -> [String] {
        try git("branch", "--format=%(refname:short)").split(separator: "\n").map(String.init)
    }
}
