import ScionPluginKit

/// The one error type of the host: a code (extensible, and mapped one-to-one
/// to the plugin ABI's status codes), a sentence for the user, and an
/// optional cause shown with --debug.
public struct ScionError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case invalidArgument = "invalid_argument", notFound = "not_found", alreadyExists = "already_exists"
            case unsupported, unavailable, permissionDenied = "permission_denied"
            case failedPrecondition = "failed_precondition", abiMismatch = "abi_mismatch", `internal`
            case invalidSettings = "invalid_settings", notInGrove = "not_in_grove", plugin
            case wouldLoseWork = "would_lose_work"
            case notPermitted = "not_permitted"
            case mergeConflict = "merge_conflict"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let invalidArgument = Code(Value.invalidArgument)
        public static let notFound = Code(Value.notFound)
        public static let alreadyExists = Code(Value.alreadyExists)
        public static let unsupported = Code(Value.unsupported)
        public static let unavailable = Code(Value.unavailable)
        public static let permissionDenied = Code(Value.permissionDenied)
        public static let failedPrecondition = Code(Value.failedPrecondition)
        public static let abiMismatch = Code(Value.abiMismatch)
        public static let `internal` = Code(Value.internal)
        public static let invalidSettings = Code(Value.invalidSettings)
        public static let notInGrove = Code(Value.notInGrove)
        /// A plugin could not be found, loaded or negotiated with.
        public static let plugin = Code(Value.plugin)
        /// Refused because it would lose work: unmerged commits, uncommitted files.
        public static let wouldLoseWork = Code(Value.wouldLoseWork)
        /// Refused to an agent: outside its authority (not its descendant,
        /// not its grove, the host's settings) or over a limit (AgentLimits).
        public static let notPermitted = Code(Value.notPermitted)
        /// A merge stopped on conflicts (issue 13), left for the user to resolve or abort.
        public static let mergeConflict = Code(Value.mergeConflict)

        public var description: String { value.rawValue }

        init(_ pluginCode: PluginError.Code) {
            self = Value(rawValue: pluginCode.rawValue).map(Code.init) ?? .internal
        }

        /// Whether a plugin's error code is one of the ABI's (it maps to itself).
        static func knows(_ pluginCode: PluginError.Code) -> Bool { Value(rawValue: pluginCode.rawValue) != nil }
    }

    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public init(_ error: PluginError, context: String? = nil) {
        self.init(Code(error.code), context.map { "\($0): \(error.message)" } ?? error.message, cause: error)
    }

    public var description: String { message }

    /// The exit status the CLI uses for this error.
    public var exitCode: Int32 {
        switch code {
        case .invalidArgument, .invalidSettings: return 2
        case .notFound: return 3
        case .alreadyExists: return 4
        case .notInGrove: return 5
        case .plugin, .abiMismatch: return 6
        case .unavailable: return 7
        case .wouldLoseWork: return 8
        case .notPermitted: return 15
        case .mergeConflict: return 9
        default: return 1
        }
    }
}

extension ScionError {
    /// Wraps any error as a ScionError, keeping ScionErrors and plugin errors as they are.
    public static func wrap(_ error: any Error, _ context: String) -> ScionError {
        if let error = error as? ScionError { return error }
        if let error = error as? PluginError { return ScionError(error, context: context) }
        return ScionError(.internal, "\(context): \(error)", cause: error)
    }
}
