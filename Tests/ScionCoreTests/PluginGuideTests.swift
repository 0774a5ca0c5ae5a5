import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// docs/plugins.md's examples are payloads a plugin author copies: each one
/// validates against the schema its marker names (issue 12).
@Suite("the plugin author's guide")
struct PluginGuideTests {
    @Test("every example payload in docs/plugins.md validates against the schema its marker names")
    func examplesValidate() throws {
        let guide = try String(contentsOfFile: BuildProducts.packageRoot + "/docs/plugins.md", encoding: .utf8)
        let validator = try PayloadSchemaValidator(folder: PayloadSchemas.folder)
        let lines = guide.components(separatedBy: "\n")
        var checked: [String] = []
        for (index, line) in lines.enumerated() where line.hasPrefix("<!-- schema: ") {
            let schema = line.dropFirst("<!-- schema: ".count).replacingOccurrences(of: " -->", with: "")
            #expect(lines[index + 1] == "```json", "the example after the \(schema) marker is not a json block")
            let example = lines[(index + 2)...].prefix { $0 != "```" }.joined(separator: "\n")
            #expect(validator.validate(Data(example.utf8), schema: schema) == [], "example \(schema)")
            checked.append(schema)
        }
        for schema in ["plugin-description", "capabilities", "run-spec", "run-result", "runtime-agent", "list-response", "exec-result", "error", "provision"] {
            #expect(checked.contains(schema), "docs/plugins.md has no \(schema) example")
        }
    }

    @Test("the validator names the field path of what is wrong, as plugins check reports it")
    func validatorPaths() throws {
        let validator = try PayloadSchemaValidator(folder: PayloadSchemas.folder)
        let answer = #"{"schema_version":1,"agents":[{"name":"a","handle":"h","state":"paused","labels":{"k":3}}]}"#
        #expect(validator.validate(Data(answer.utf8), schema: "list-response") == [
            #"agents[0].labels.k: expected a string, found an integer"#,
            #"agents[0].state: "paused" is not one of "created", "running", "stopped", "missing""#,
        ])
        #expect(validator.validate(Data(#"{"schema_version":2,"handle":"h"}"#.utf8), schema: "run-result") == ["schema_version: expected 1, found 2"])
        #expect(validator.validate(Data(#"{"schema_version":1}"#.utf8), schema: "run-result") == ["handle: required, but missing"])
        #expect(validator.schemaName("describe", "response", kind: "harness") == "harness-description")
    }
}
