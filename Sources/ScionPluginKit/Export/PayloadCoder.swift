import Foundation
import ScionPluginABI

/// What was wrong with a payload, and where: `agents[2].state: expected a
/// string, found a number`. The sentence a plugin author can act on, in
/// JSON terms, never Swift's.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A JSON field path (`agents[2].state`); empty for the whole payload.
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}

/// Encodes and decodes ABI payloads. Every payload written carries
/// `schema_version`; every payload read is checked: a missing one is 1 (1.0
/// peers omitted it), a greater one than `SCION_PAYLOAD_SCHEMA_VERSION` is
/// refused.
public enum PayloadCoder {
    public static let schemaVersion = Int(SCION_PAYLOAD_SCHEMA_VERSION)

    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return try encoder.encode(Versioned(value: value))
    }

    /// Decodes a payload; throws `PayloadError` naming the field.
    public static func decode<T: Decodable>(_ data: Data, as type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(Versioned<T>.self, from: data.isEmpty ? Data("{}".utf8) : data).value
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    /// Decodes a JSON object whose shape belongs to the plugin (a configuration).
    public static func decodeObject(_ data: Data, what: String) throws -> [String: JSONValue] {
        guard !data.isEmpty else { return [:] }
        do {
            return try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch {
            throw PluginError(.invalidArgument, "the \(what) is not a JSON object")
        }
    }

    static func describe(_ error: DecodingError) -> PayloadError {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys where key.stringValue != "super" {
                if let index = key.intValue, key.stringValue.hasPrefix("Index") {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        func found(_ context: DecodingError.Context) -> String {
            let text = context.debugDescription
            guard let range = text.range(of: "but found "), let end = text.range(of: " instead", range: range.upperBound..<text.endIndex)
            else { return "" }
            var what = String(text[range.upperBound..<end.lowerBound])
            if what.hasPrefix("a dictionary") { what = "an object" }
            if what == "null value" || what == "a null value" { what = "null" }
            if what == "bool" || what == "a bool" { what = "a boolean" }
            if !what.hasPrefix("a ") && !what.hasPrefix("an ") && what != "null" {
                what = (what.first.map { "aeiou".contains($0) } == true ? "an " : "a ") + what
            }
            return ", found \(what)"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return PayloadError(path: path(context.codingPath + [key]), problem: "required field missing")
        case .typeMismatch(let type, let context):
            return PayloadError(path: path(context.codingPath), problem: "expected \(jsonName(type))\(found(context))")
        case .valueNotFound(let type, let context):
            return PayloadError(path: path(context.codingPath), problem: "expected \(jsonName(type)), found null")
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? PayloadError { return underlying }
            let keys = context.codingPath
            if keys.isEmpty, context.underlyingError != nil { return PayloadError(path: "", problem: "not valid JSON") }
            return PayloadError(path: path(keys), problem: context.debugDescription)
        @unknown default:
            return PayloadError(path: "", problem: "\(error)")
        }
    }

    static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            if name.hasPrefix("Dictionary") || name.hasPrefix("[String") { return "an object" }
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
            return "an object"
        }
    }
}

/// A payload with its `schema_version`, written and checked in one place.
struct Versioned<T> {
    var value: T
    enum Key: String, CodingKey { case schemaVersion = "schema_version" }
}

extension Versioned: Encodable where T: Encodable {
    func encode(to encoder: Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(PayloadCoder.schemaVersion, forKey: .schemaVersion)
    }
}

extension Versioned: Decodable where T: Decodable {
    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let version = try container.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        guard version >= 1, version <= PayloadCoder.schemaVersion else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [Key.schemaVersion], debugDescription: "",
                underlyingError: PayloadError(
                    path: "schema_version",
                    problem: "payload schema \(version) is not one this side reads (it reads 1 to \(PayloadCoder.schemaVersion))")))
        }
        value = try T(from: decoder)
    }
}

/// Decodes a string enum, naming the allowed values when it is not one.
func decodeEnum<E: RawRepresentable & CaseIterable>(_ decoder: Decoder) throws -> E where E.RawValue == String {
    let container = try decoder.singleValueContainer()
    let raw = try container.decode(String.self)
    guard let value = E(rawValue: raw) else {
        let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath, debugDescription: "expected one of \(allowed), found \"\(raw)\""))
    }
    return value
}
