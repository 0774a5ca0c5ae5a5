import Foundation
import ScionTestSupport
import Testing

/// Issue 8, part 9: what a script parses comes as JSON with --format json.
@Suite("--format json for scripts: logs as JSON lines, init, config set and unset")
struct JSONOutputTests {
    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not one JSON object: \(line)")
        }
    }

    @Test("logs --format json prints one {agent, text} object per line of output")
    func logsAsJSONLines() throws {
        let sandbox = try ScionSandbox()
        try sandbox.check("start", "talker", "--harness", "shell", #"printf 'first-line\nsecond \033[1mbold\033[0m\n'; sleep 60"#)
        #expect(Shell.eventually(timeout: 20) { (try? sandbox.check("logs", "talker"))?.contains("bold") == true })
        let lines = try objects(try sandbox.check("logs", "talker", "--format", "json"))
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0["agent"] as? String == "talker" && $0["text"] is String })
        let texts = lines.compactMap { $0["text"] as? String }
        #expect(texts.contains { $0.contains("first-line") }, "\(texts)")
        #expect(texts.allSatisfy { !$0.contains("\n") })
        #expect(texts.contains { $0.contains("second \u{1B}[1mbold") }, "the text exactly, escapes included: \(texts)")
        let tail = try objects(try sandbox.check("logs", "talker", "-n", "1", "--format", "json"))
        #expect(tail.count <= 2, "\(tail)")
    }

    @Test("init, config set and config unset answer JSON")
    func initAndConfigJSON() throws {
        let sandbox = try ScionSandbox()
        let again = try #require(try objects(try sandbox.check("init", "--format", "json").replacingOccurrences(of: "\n", with: " ")).first)
        #expect(again["grove"] as? String == sandbox.path + "/.scion")
        #expect(again["actions"] as? [String] == [])
        let set = try #require(try objects(try sandbox.check("config", "set", "image_registry", "r.example", "--format", "json")
            .replacingOccurrences(of: "\n", with: " ")).first)
        #expect(set["key"] as? String == "image_registry" && set["value"] as? String == "r.example")
        let unset = try #require(try objects(try sandbox.check("config", "unset", "image_registry", "--format", "json")
            .replacingOccurrences(of: "\n", with: " ")).first)
        #expect(unset["changed"] as? Bool == true)
    }
}
