import Foundation

/// A real git repository with one commit, in a temporary directory.
public final class GitRepository: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let path: String

    /// `folderName` puts the repository in a folder of that name inside
    /// the temporary directory (two repositories can share a folder name).
    public init(folderName: String? = nil) throws {
        let directory = try TemporaryDirectory("scion-repo")
        self.directory = directory
        path = folderName.map { directory.path + "/" + $0 } ?? directory.path
        try Shell.check(["git", "init", "-q", "-b", "main", path])
        try Shell.check(["git", "-C", path, "config", "user.name", "Test User"])
        try Shell.check(["git", "-C", path, "config", "user.email", "test@example.com"])
        try "test repository\n".write(toFile: path + "/README.md", atomically: true, encoding: .utf8)
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

extension GitRepository {
    /// Shares the repository's git folders with group `gid` as git does
    /// (`core.sharedRepository group`, group-writable, setgid folders), so an
    /// agent running as another user of that group can commit
    /// (runtimes.<name>.run_as_user; docs/runtimes/docker.md).
    public func shareWithGroup(_ gid: UInt32) throws {
        let gitDirectory = path + "/.git"
        try git("config", "core.sharedRepository", "group")
        let folders = ["objects", "refs", "logs"].map { gitDirectory + "/" + $0 }
        try Shell.check(["chgrp", "-R", String(gid)] + folders)
        try Shell.check(["chmod", "-R", "g+rwX"] + folders)
        try Shell.check(["find"] + folders + ["-type", "d", "-exec", "chmod", "g+s", "{}", "+"])
    }
}
