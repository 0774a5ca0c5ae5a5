import ScionPluginABI

/// The error every plugin call can answer with. It crosses the ABI as
/// `{"schema_version":1,"code":"not_found","message":"...","details":{...}}`
/// next to the matching `scion_status`.
public struct PluginError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidArgument = Code(rawValue: "invalid_argument")
        public static let notFound = Code(rawValue: "not_found")
        public static let alreadyExists = Code(rawValue: "already_exists")
        public static let unsupported = Code(rawValue: "unsupported")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let permissionDenied = Code(rawValue: "permission_denied")
        public static let failedPrecondition = Code(rawValue: "failed_precondition")
        public static let abiMismatch = Code(rawValue: "abi_mismatch")
        public static let `internal` = Code(rawValue: "internal")

        private static let statuses: [(Code, scion_status)] = [
            (.invalidArgument, SCION_ERR_INVALID_ARGUMENT), (.notFound, SCION_ERR_NOT_FOUND),
            (.alreadyExists, SCION_ERR_ALREADY_EXISTS), (.unsupported, SCION_ERR_UNSUPPORTED),
            (.unavailable, SCION_ERR_UNAVAILABLE), (.permissionDenied, SCION_ERR_PERMISSION_DENIED),
            (.failedPrecondition, SCION_ERR_FAILED_PRECONDITION), (.abiMismatch, SCION_ERR_ABI_MISMATCH),
            (.internal, SCION_ERR_INTERNAL),
        ]

        public var status: Int32 {
            Int32(bitPattern: (Self.statuses.first { $0.0 == self }?.1 ?? SCION_ERR_INTERNAL).rawValue)
        }

        public init(status: Int32) {
            self = Self.statuses.first { Int32(bitPattern: $0.1.rawValue) == status }?.0 ?? .internal
        }
    }

    public var schemaVersion: Int
    public var code: Code
    public var message: String
    public var details: [String: JSONValue]

    public init(_ code: Code, _ message: String, details: [String: JSONValue] = [:]) {
        self.schemaVersion = 1
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { message }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", code, message, details
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? 1
        code = try container.decodeIfPresent(Code.self, forKey: .code) ?? .internal
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? "the plugin gave no message"
        details = try container.decodeIfPresent([String: JSONValue].self, forKey: .details) ?? [:]
    }
}
