import Foundation

/// Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`),
/// which kubectl's typed clients send (`kubectl create namespace|secret|configmap|serviceaccount|quota`).
/// The body is the magic `k8s\0` and a `runtime.Unknown` message {typeMeta, raw, contentEncoding,
/// contentType} whose `raw` is the object's own message. Only decoding is done, into the same JSON
/// tree a JSON body gives, for the kinds listed in `schemas`; answers stay JSON, which the client
/// accepts (it decodes by the response's Content-Type). Field numbers are those of the
/// `generated.proto` files of k8s.io/api core/v1 and k8s.io/apimachinery meta/v1.
enum Protobuf {
    static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    /// A field's type. Absent and empty values are left out of the JSON, as Go's `omitempty` does.
    indirect enum Kind: Sendable {
        case string, bytes, bool, int, time, quantity
        case message(Schema)
        case repeated(Kind)
        /// `map<string, V>`: entries are messages {1: key, 2: value}.
        case map(Kind)
    }

    struct Schema: Sendable {
        let fields: [Int: (name: String, kind: Kind)]
        init(_ fields: [Int: (String, Kind)]) { self.fields = fields.mapValues { (name: $0.0, kind: $0.1) } }
    }

    struct Failure: Error { let message: String }

    // MARK: schemas (k8s.io/apimachinery meta/v1 and k8s.io/api core/v1)

    static let ownerReference = Schema([
        5: ("apiVersion", .string), 1: ("kind", .string), 3: ("name", .string), 4: ("uid", .string),
        6: ("controller", .bool), 7: ("blockOwnerDeletion", .bool),
    ])
    static let objectMeta = Schema([
        1: ("name", .string), 2: ("generateName", .string), 3: ("namespace", .string), 4: ("selfLink", .string),
        5: ("uid", .string), 6: ("resourceVersion", .string), 7: ("generation", .int), 8: ("creationTimestamp", .time),
        9: ("deletionTimestamp", .time), 10: ("deletionGracePeriodSeconds", .int), 11: ("labels", .map(.string)),
        12: ("annotations", .map(.string)), 13: ("ownerReferences", .repeated(.message(ownerReference))),
        14: ("finalizers", .repeated(.string)),
    ])
    static let objectReference = Schema([
        1: ("kind", .string), 2: ("namespace", .string), 3: ("name", .string), 4: ("uid", .string),
        5: ("apiVersion", .string), 6: ("resourceVersion", .string), 7: ("fieldPath", .string),
    ])
    static let schemas: [String: Schema] = [
        "Namespace": Schema([
            1: ("metadata", .message(objectMeta)),
            2: ("spec", .message(Schema([1: ("finalizers", .repeated(.string))]))),
            3: ("status", .message(Schema([1: ("phase", .string)]))),
        ]),
        "Secret": Schema([
            1: ("metadata", .message(objectMeta)), 2: ("data", .map(.bytes)), 3: ("type", .string),
            4: ("stringData", .map(.string)), 5: ("immutable", .bool),
        ]),
        "ConfigMap": Schema([
            1: ("metadata", .message(objectMeta)), 2: ("data", .map(.string)), 3: ("binaryData", .map(.bytes)),
            4: ("immutable", .bool),
        ]),
        "ServiceAccount": Schema([
            1: ("metadata", .message(objectMeta)), 2: ("secrets", .repeated(.message(objectReference))),
            3: ("imagePullSecrets", .repeated(.message(Schema([1: ("name", .string)])))),
            4: ("automountServiceAccountToken", .bool),
        ]),
        "ResourceQuota": Schema([
            1: ("metadata", .message(objectMeta)),
            2: ("spec", .message(Schema([1: ("hard", .map(.quantity)), 2: ("scopes", .repeated(.string))]))),
        ]),
    ]

    static let typeMeta = Schema([1: ("apiVersion", .string), 2: ("kind", .string)])
    static let unknown = Schema([1: ("typeMeta", .message(typeMeta)), 2: ("raw", .bytes), 3: ("contentEncoding", .string), 4: ("contentType", .string)])

    // MARK: decoding

    /// The object in an envelope, with its `apiVersion` and `kind`.
    static func decodeEnvelope(_ bytes: [UInt8]) throws -> JSON {
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw Failure(message: "the protobuf body does not start with the Kubernetes magic number")
        }
        var reader = Reader(bytes: bytes, index: 4, end: bytes.count)
        var raw = Reader(bytes: [], index: 0, end: 0)
        var apiVersion = "", kind = ""
        var encoding = ""
        while let (number, wire) = try reader.tag() {
            switch (number, wire) {
            case (1, 2):
                var inner = try reader.nested()
                while let (n, w) = try inner.tag() {
                    if n == 1, w == 2 { apiVersion = try inner.text() } else if n == 2, w == 2 { kind = try inner.text() } else { try inner.skip(w) }
                }
            case (2, 2): raw = try reader.nested()
            case (3, 2): encoding = try reader.text()
            default: try reader.skip(wire)
            }
        }
        guard encoding.isEmpty else { throw Failure(message: "the content encoding \"\(encoding)\" is not supported") }
        guard let schema = schemas[kind] else {
            throw Failure(message: "the kind \"\(kind)\" cannot be decoded from protobuf by this server")
        }
        var object = try decode(raw, schema)
        object["apiVersion"] = .string(apiVersion)
        object["kind"] = .string(kind)
        return object
    }

    static func decode(_ message: Reader, _ schema: Schema) throws -> JSON {
        var reader = message
        var fields: [String: JSON] = [:]
        while let (number, wire) = try reader.tag() {
            guard let field = schema.fields[number] else { try reader.skip(wire); continue }
            switch field.kind {
            case .repeated(let element):
                var items = fields[field.name]?.array ?? []
                if let value = try value(&reader, wire, element) { items.append(value) }
                fields[field.name] = .array(items)
            case .map(let element):
                var entry = try reader.nested()
                var key = "", entryValue: JSON = .string("")
                while let (n, w) = try entry.tag() {
                    if n == 1, w == 2 { key = try entry.text() } else if n == 2, let v = try value(&entry, w, element) { entryValue = v } else { try entry.skip(w) }
                }
                var map = fields[field.name]?.object ?? [:]
                map[key] = entryValue
                fields[field.name] = .object(map)
            default:
                if let v = try value(&reader, wire, field.kind) { fields[field.name] = v } else { fields[field.name] = nil }
            }
        }
        return .object(fields.filter { !$0.value.isEmptyValue })
    }

    private static func value(_ reader: inout Reader, _ wire: Int, _ kind: Kind) throws -> JSON? {
        switch (kind, wire) {
        case (.string, 2): return .string(try reader.text())
        case (.quantity, 2):
            var inner = try reader.nested()
            var text = ""
            while let (n, w) = try inner.tag() { if n == 1, w == 2 { text = try inner.text() } else { try inner.skip(w) } }
            return .string(text)
        case (.bytes, 2): return .string(Data(try reader.lengthDelimited()).base64EncodedString())
        case (.bool, 0): return .bool(try reader.varint() != 0)
        case (.int, 0): return .int(Int64(bitPattern: try reader.varint()))
        case (.time, 2):
            var inner = try reader.nested()
            var seconds: Int64 = 0
            while let (n, w) = try inner.tag() { if n == 1, w == 0 { seconds = Int64(bitPattern: try inner.varint()) } else { try inner.skip(w) } }
            return inner.index == inner.start ? nil : .string(kubeTime(Date(timeIntervalSince1970: Double(seconds))))
        case (.message(let schema), 2):
            return try decode(try reader.nested(), schema)
        default:
            throw Failure(message: "wire type \(wire) does not fit the field's type")
        }
    }

    /// A protobuf wire reader over `bytes[index..<end]`.
    struct Reader {
        let bytes: [UInt8]
        var index: Int
        let end: Int
        let start: Int

        init(bytes: [UInt8], index: Int, end: Int) {
            self.bytes = bytes
            self.index = index
            self.end = end
            self.start = index
        }

        mutating func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard index < end, shift < 64 else { throw Failure(message: "a varint runs past the end of the body") }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// The next field's number and wire type, nil at the end.
        mutating func tag() throws -> (Int, Int)? {
            guard index < end else { return nil }
            let key = try varint()
            return (Int(key >> 3), Int(key & 7))
        }

        mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
            let length = try varint()
            guard length <= UInt64(end - index) else { throw Failure(message: "a field's length runs past the end of the body") }
            let slice = bytes[index..<(index + Int(length))]
            index += Int(length)
            return slice
        }

        mutating func nested() throws -> Reader {
            let slice = try lengthDelimited()
            return Reader(bytes: bytes, index: slice.startIndex, end: slice.endIndex)
        }

        mutating func text() throws -> String { String(decoding: try lengthDelimited(), as: UTF8.self) }

        mutating func skip(_ wire: Int) throws {
            switch wire {
            case 0: _ = try varint()
            case 1: index += 8
            case 2: _ = try lengthDelimited()
            case 5: index += 4
            default: throw Failure(message: "unknown wire type \(wire)")
            }
            guard index <= end else { throw Failure(message: "a field runs past the end of the body") }
        }
    }
}

private extension JSON {
    /// What Go's `omitempty` leaves out: "", 0, empty lists and maps (false stays: those
    /// fields are pointers in Go, sent only when set).
    var isEmptyValue: Bool {
        switch self {
        case .null: return true
        case .string(let s): return s.isEmpty
        case .int(let i): return i == 0
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        default: return false
        }
    }
}
