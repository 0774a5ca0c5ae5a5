import Foundation
import ScionPluginKit

/// Validates plugin payloads against the JSON Schemas of docs/schemas
/// (draft 2020-12, the keywords those schemas use: type, properties,
/// required, additionalProperties, items, enum, const, minimum, minLength,
/// minItems, uniqueItems, pattern, allOf, anyOf, oneOf, $ref). Each failure
/// names the JSON field path, as the host's own decoding errors do:
/// `agents[0].state: "paused" is not one of "created", "running", ...`.
public struct PayloadSchemaValidator: Sendable {
    /// Schemas by `$id` (`urn:scion:plugin:<name>`).
    let schemas: [String: JSONValue]
    /// operations.json: which schema each operation's request, response and events follow.
    let operations: [String: JSONValue]

    public static let idPrefix = "urn:scion:plugin:"

    /// Reads every `*.schema.json` of `folder` and its `operations.json`.
    public init(folder: String) throws {
        let manager = FileManager.default
        guard let entries = try? manager.contentsOfDirectory(atPath: folder) else {
            throw ScionError(.plugin, "the payload schemas are not at \(folder); reinstall scion (scripts/install.sh installs them)")
        }
        var schemas: [String: JSONValue] = [:]
        for entry in entries.sorted() where entry.hasSuffix(".schema.json") {
            let schema = try Self.read(folder + "/" + entry)
            guard case .string(let id)? = schema["$id"] else { continue }
            schemas[id] = schema
        }
        self.schemas = schemas
        let table = try Self.read(folder + "/operations.json")
        if case .object(let operations)? = table["operations"] { self.operations = operations } else { self.operations = [:] }
    }

    static func read(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path),
              let value = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { throw ScionError(.plugin, "cannot read the payload schema \(path)") }
        return value
    }

    /// The schema name of `part` (`request`, `response`, `event`) of an operation for a plugin of `kind`.
    public func schemaName(_ operation: String, _ part: String, kind: String) -> String? {
        switch operations[operation]?[part] {
        case .string(let name)?: return name
        case .object(let byKind)?: return byKind[kind]?.stringValue
        default: return nil
        }
    }

    /// The failures of `data` against schema `name`, one sentence each (empty when it validates).
    public func validate(_ data: Data, schema name: String) -> [String] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return ["(payload): not JSON: \(String(decoding: data.prefix(80), as: UTF8.self))"]
        }
        return validate(value, schema: name)
    }

    public func validate(_ value: JSONValue, schema name: String) -> [String] {
        guard let schema = schemas[Self.idPrefix + name] else { return ["(payload): no schema \(name) in docs/schemas"] }
        var failures: [String] = []
        check(value, against: schema, base: Self.idPrefix + name, path: "", failures: &failures)
        return failures
    }

    // MARK: the keywords

    private func resolve(_ reference: String, base: String) -> (JSONValue, String)? {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let document = parts[0].isEmpty ? base : String(parts[0])
        guard var target = schemas[document] else { return nil }
        if parts.count > 1 {
            for component in parts[1].split(separator: "/") {
                guard let next = target[String(component)] else { return nil }
                target = next
            }
        }
        return (target, document)
    }

    private func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number(let number): return number == number.rounded() ? "an integer" : "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    private func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number):
            return true
        case ("integer", .number(let number)): return number == number.rounded()
        default: return false
        }
    }

    private func literal(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }

    private func check(_ value: JSONValue, against schema: JSONValue, base: String, path: String, failures: inout [String]) {
        guard case .object(let keywords) = schema else { return }
        let at = path.isEmpty ? "(payload)" : path
        func fail(_ problem: String) { failures.append("\(at): \(problem)") }

        if case .string(let reference)? = keywords["$ref"] {
            if let (target, document) = resolve(reference, base: base) {
                check(value, against: target, base: document, path: path, failures: &failures)
            } else {
                fail("the schema refers to \(reference), which does not exist")
            }
        }
        if let type = keywords["type"] {
            let allowed: [String]
            switch type {
            case .string(let one): allowed = [one]
            case .array(let many): allowed = many.compactMap(\.stringValue)
            default: allowed = []
            }
            if !allowed.isEmpty, !allowed.contains(where: { matches(value, type: $0) }) {
                let names = allowed.map { $0 == "null" ? "null" : ($0.first.map { "aeiou".contains($0) } == true ? "an \($0)" : "a \($0)") }
                fail("expected \(names.joined(separator: " or ")), found \(typeName(value))")
                return
            }
        }
        if case .array(let options)? = keywords["enum"], !options.contains(value) {
            fail("\(literal(value)) is not one of \(options.map(literal).joined(separator: ", "))")
        }
        if let constant = keywords["const"], constant != value {
            fail("expected \(literal(constant)), found \(literal(value))")
        }
        switch value {
        case .number(let number):
            if case .number(let minimum)? = keywords["minimum"], number < minimum { fail("\(literal(value)) is less than the minimum \(literal(.number(minimum)))") }
        case .string(let text):
            if case .number(let minimum)? = keywords["minLength"], Double(text.count) < minimum { fail("expected at least \(Int(minimum)) characters") }
            if case .string(let pattern)? = keywords["pattern"], text.range(of: pattern, options: .regularExpression) == nil {
                fail("\(literal(value)) does not match the pattern \(pattern)")
            }
        case .array(let items):
            if case .number(let minimum)? = keywords["minItems"], Double(items.count) < minimum { fail("expected at least \(Int(minimum)) items, found \(items.count)") }
            if case .bool(true)? = keywords["uniqueItems"], Set(items).count != items.count { fail("the items are not unique") }
            if let itemSchema = keywords["items"] {
                for (index, item) in items.enumerated() {
                    check(item, against: itemSchema, base: base, path: "\(path)[\(index)]", failures: &failures)
                }
            }
        case .object(let object):
            if case .array(let required)? = keywords["required"] {
                for case .string(let key) in required where object[key] == nil {
                    failures.append("\(path.isEmpty ? key : path + "." + key): required, but missing")
                }
            }
            var properties: [String: JSONValue] = [:]
            if case .object(let given)? = keywords["properties"] { properties = given }
            for key in object.keys.sorted() {
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let property = properties[key] {
                    check(object[key]!, against: property, base: base, path: child, failures: &failures)
                } else if let additional = keywords["additionalProperties"] {
                    if case .bool(false) = additional {
                        failures.append("\(child): not a field of this payload")
                    } else {
                        check(object[key]!, against: additional, base: base, path: child, failures: &failures)
                    }
                }
            }
        default:
            break
        }
        if case .array(let all)? = keywords["allOf"] {
            for part in all { check(value, against: part, base: base, path: path, failures: &failures) }
        }
        for keyword in ["anyOf", "oneOf"] {
            guard case .array(let options)? = keywords[keyword] else { continue }
            var passing = 0
            var first: [String] = []
            for (index, option) in options.enumerated() {
                var attempt: [String] = []
                check(value, against: option, base: base, path: path, failures: &attempt)
                if attempt.isEmpty { passing += 1 } else if index == 0 { first = attempt }
            }
            if passing == 0 { failures += first.isEmpty ? ["\(at): matches none of the allowed shapes"] : first }
            if keyword == "oneOf", passing > 1 { fail("matches more than one of the allowed shapes") }
        }
    }
}
