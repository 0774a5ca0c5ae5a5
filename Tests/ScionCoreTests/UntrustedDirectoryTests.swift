import Foundation
import ScionPluginKit
import ScionTestSupport
import Testing

@Suite("UntrustedDirectory never follows a link planted below its root")
struct UntrustedDirectoryTests {
    @Test("a write through a linked parent folder is refused and nothing lands outside")
    func linkedParent() throws {
        let root = try TemporaryDirectory("untrusted"), outside = try TemporaryDirectory("outside")
        try FileManager.default.createSymbolicLink(atPath: root.file(".claude"), withDestinationPath: outside.path)
        let directory = UntrustedDirectory(root.path)
        #expect(throws: PluginError.self) { try directory.write(".claude/settings.json", "{}") }
        #expect(throws: PluginError.self) { try directory.createDirectory(".claude/sub") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
    }

    @Test("a linked file is never read; a write replaces the link itself, not its target")
    func linkedFile() throws {
        let root = try TemporaryDirectory("untrusted"), outside = try TemporaryDirectory("outside")
        try outside.write("secret", "TOP-SECRET")
        try FileManager.default.createSymbolicLink(atPath: root.file("log"), withDestinationPath: outside.file("secret"))
        let directory = UntrustedDirectory(root.path)
        #expect(throws: PluginError.self) { _ = try directory.read("log") }
        #expect(directory.text("log") == nil)
        #expect(throws: PluginError.self) { _ = try directory.openFile("log", flags: O_RDWR) }
        try directory.write("log", "mine")
        #expect(outside.read("secret") == "TOP-SECRET")
        #expect(try directory.read("log") == Data("mine".utf8))
        try FileManager.default.createSymbolicLink(atPath: root.file("gone"), withDestinationPath: outside.file("secret"))
        try directory.remove("gone")
        #expect(outside.read("secret") == "TOP-SECRET")
    }

    @Test("a FIFO is refused instead of blocking the reader; .. and absolute paths are refused")
    func fifoAndEscapes() throws {
        let root = try TemporaryDirectory("untrusted")
        #expect(mkfifo(root.file("pipe"), 0o644) == 0)
        let directory = UntrustedDirectory(root.path)
        #expect(throws: PluginError.self) { _ = try directory.read("pipe") }
        #expect(throws: PluginError.self) { try directory.write("../x", "no") }
        #expect(throws: PluginError.self) { try directory.write("/tmp/x", "no") }
        #expect(try directory.read("missing/file") == nil)
        try directory.write("a/b/c.txt", "deep", mode: 0o600)
        #expect(directory.size("a/b/c.txt") == 4)
    }
}
