import Foundation
import ScionPluginKit
import ScionTestSupport
import Testing

/// `run_as_user` and what scion gives that user (issue 14).
@Suite("the agent user of container runtimes")
struct AgentUserOwnershipTests {
    @Test(
        "run_as_user is a uid (gid the same) or uid:gid, nothing else",
        arguments: [
            ("1000", "1000:1000"), ("1000:100", "1000:100"), (" 0 ", "0:0"), ("agent", "-"), ("1000:", "-"),
            (":1000", "-"), ("-1", "-"), ("1000:1000:1", "-"), ("4294967295", "-"), ("١٠٠٠", "-"), ("", "-"),
        ])
    func parse(text: String, expected: String) {
        let ids = AgentUser.parse(text)
        #expect((ids.map { "\($0.uid):\($0.gid)" } ?? "-") == expected)
    }

    @Test(
        "giving a folder to the agent's user changes what is in it, a planted link itself but never its target, and no file with a second name",
        .enabled(if: getuid() == 0, "changing a file's owner needs root"))
    func giveOwnership() throws {
        let outside = try TemporaryDirectory()
        let folder = try TemporaryDirectory()
        try "secret\n".write(toFile: outside.path + "/target", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder.path + "/sub/deeper", withIntermediateDirectories: true)
        try "a\n".write(toFile: folder.path + "/sub/deeper/file", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/link", withDestinationPath: outside.path + "/target")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/dirlink", withDestinationPath: outside.path)
        try FileManager.default.linkItem(atPath: outside.path + "/target", toPath: folder.path + "/hardlink")

        try AgentUser.giveOwnership(of: folder.path, uid: 1000, gid: 1001)
        for path in ["", "/sub", "/sub/deeper", "/sub/deeper/file", "/link", "/dirlink"] {
            #expect(owner(folder.path + path) == "1000:1001", "\(path)")
        }
        #expect(owner(folder.path + "/hardlink") == "0:0", "a file with another name outside was given away")
        #expect(owner(outside.path + "/target") == "0:0", "a link was followed")
        #expect(owner(outside.path) == "0:0", "a link to a folder was followed")
        // Again: nothing to do, nothing fails.
        try AgentUser.giveOwnership(of: folder.path, uid: 1000, gid: 1001)
        try AgentUser.giveOwnership(of: folder.path + "/missing", uid: 1000, gid: 1001)
    }

    @Test("a harness description without clear_input_keys (an older plugin) decodes with none; claude's has Ctrl-U")
    func clearInputKeys() throws {
        let old = #"{"schema_version":1,"plugin":{"schema_version":1,"name":"x","kind":"harness","version":"1","description":"d","operations":[]},"auth_methods":[],"interrupt_key":"C-c","supports_resume":false}"#
        let decoded = try JSONDecoder().decode(HarnessDescription.self, from: Data(old.utf8))
        #expect(decoded.clearInputKeys.isEmpty)
        let encoded = try JSONEncoder().encode(HarnessDescription(
            plugin: decoded.plugin, authMethods: [], interruptKey: "Escape", supportsResume: true, clearInputKeys: ["C-u"]))
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""clear_input_keys":["C-u"]"#))
    }

    func owner(_ path: String) -> String {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "missing" }
        return "\(info.st_uid):\(info.st_gid)"
    }
}
