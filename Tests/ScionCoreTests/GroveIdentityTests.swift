import Foundation
@testable import ScionCore
import Testing

@Suite("grove identity and derived names")
struct GroveIdentityTests {
    @Test("the grove id is the first 12 hex digits of the SHA-256 of the grove's canonical path")
    func groveIdIsSHA256() {
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex(String(repeating: "a", count: 1000)).hasPrefix("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"))
        #expect(Grove(directory: "/nonexistent-scion-test/.scion", isGlobal: false).id == "e1abcd86ec62")
    }

    @Test("a grove reached through a symlink has the id of its real path; another folder of the same name does not")
    func symlinkedGroveSameId() throws {
        let base = FileManager.default.temporaryDirectory.path + "/scion-id-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        for path in [base + "/one/app/.scion", base + "/two/app/.scion"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(atPath: base + "/link", withDestinationPath: base + "/one")
        let real = Grove(directory: base + "/one/app/.scion", isGlobal: false)
        #expect(Grove(directory: base + "/link/app/.scion", isGlobal: false).id == real.id)
        let other = Grove(directory: base + "/two/app/.scion", isGlobal: false)
        #expect(other.id != real.id && other.name == real.name)
        #expect(other.runtimeName(for: "pd1") != real.runtimeName(for: "pd1"))
        #expect(real.runtimeName(for: "pd1") == "app-\(real.id)--pd1")
    }

    @Test("runtime names stay within engine limits and start with a letter or digit")
    func runtimeNameLength() {
        let long = Grove(directory: "/tmp/" + String(repeating: "x", count: 120) + "/.scion", isGlobal: false)
        let name = long.runtimeName(for: String(repeating: "a", count: 63))
        #expect(name.count <= 118)
        let symbols = Grove(directory: "/tmp/___/.scion", isGlobal: false)
        #expect(symbols.runtimeName(for: "a").hasPrefix("grove-"))
    }

    @Test("worktree names are unique per agent name, even for names with one slug")
    func worktreeNames() {
        #expect(AgentName.worktreeName("feature") == "scion-feature")
        #expect(AgentName.worktreeName("Feature") == "scion-feature-3d377ae9")
        #expect(AgentName.worktreeName("fix_login") != AgentName.worktreeName("fix-login"))
    }
}
