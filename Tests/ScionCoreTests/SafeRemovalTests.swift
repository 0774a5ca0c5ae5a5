import Foundation
import ScionCore
import ScionTestSupport
import Testing

@Suite("safe removal: inside one folder, never through a symlink")
struct SafeRemovalTests {
    /// A boundary folder with an agent-like tree, and a victim folder beside it.
    struct World {
        let root: TemporaryDirectory
        var boundary: String { root.path + "/agent" }
        var victim: String { root.path + "/victim" }

        init() throws {
            root = try TemporaryDirectory("safe-removal")
            for folder in [boundary + "/workspace/src/deep", victim] {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
            try "work\n".write(toFile: boundary + "/workspace/src/deep/file.txt", atomically: true, encoding: .utf8)
            try "precious\n".write(toFile: victim + "/precious.txt", atomically: true, encoding: .utf8)
        }

        var victimIntact: Bool {
            (try? String(contentsOfFile: victim + "/precious.txt", encoding: .utf8)) == "precious\n"
        }
    }

    @Test("a tree with symlinks to outside folders and files is removed; the targets stay")
    func symlinksAreRemovedNotFollowed() throws {
        let world = try World()
        let workspace = world.boundary + "/workspace"
        try FileManager.default.createSymbolicLink(atPath: workspace + "/to-folder", withDestinationPath: world.victim)
        try FileManager.default.createSymbolicLink(atPath: workspace + "/src/to-file", withDestinationPath: world.victim + "/precious.txt")
        try FileManager.default.createSymbolicLink(atPath: workspace + "/src/to-root", withDestinationPath: "/")
        #expect(try SafeRemoval(inside: world.boundary).remove(workspace))
        #expect(!FileManager.default.fileExists(atPath: workspace))
        #expect(world.victimIntact)
    }

    @Test("a path whose parent is a symlink out of the boundary is refused")
    func symlinkedParentIsRefused() throws {
        let world = try World()
        try FileManager.default.createSymbolicLink(atPath: world.boundary + "/escape", withDestinationPath: world.victim)
        let error = try #require(throws: ScionError.self) {
            try SafeRemoval(inside: world.boundary).remove(world.boundary + "/escape/precious.txt")
        }
        #expect(error.message.contains("not inside"))
        #expect(world.victimIntact)
    }

    @Test("paths outside the boundary, the boundary itself and .. tricks are refused", arguments: [
        "/victim", "/victim/precious.txt", "/agent/../victim", "/agent", "/agent/..",
    ])
    func outsideIsRefused(relative: String) throws {
        let world = try World()
        #expect(throws: ScionError.self) { try SafeRemoval(inside: world.boundary).remove(world.root.path + relative) }
        #expect(world.victimIntact)
        #expect(FileManager.default.fileExists(atPath: world.boundary + "/workspace/src/deep/file.txt"))
    }

    @Test("read-only and unreadable folders are removed too; a missing path is no error")
    func readOnlyFolders() throws {
        let world = try World()
        let deep = world.boundary + "/workspace/src/deep"
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: deep)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: world.boundary + "/workspace/src")
        let removal = try SafeRemoval(inside: world.boundary)
        #expect(try removal.remove(world.boundary + "/workspace"))
        #expect(!FileManager.default.fileExists(atPath: world.boundary + "/workspace"))
        #expect(try removal.remove(world.boundary + "/workspace") == false)
        #expect(try removal.remove(world.boundary + "/never/was") == false)
    }
}
