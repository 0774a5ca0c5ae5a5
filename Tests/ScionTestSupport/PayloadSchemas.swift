import Foundation

/// Checks payloads against the JSON Schemas in docs/schemas with PyPI's
/// `jsonschema` (python3), through Tests/Fixtures/validate_payloads.py.
public final class PayloadSchemas: @unchecked Sendable {
    public static let folder = BuildProducts.packageRoot + "/docs/schemas"
    private let directory: TemporaryDirectory
    private var count = 0
    private let lock = NSLock()

    public init() throws {
        directory = try TemporaryDirectory()
    }

    /// The schema names of one operation, from docs/schemas/operations.json.
    public static func schema(_ operation: String, _ part: String, kind: String = "runtime") throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/operations.json"))
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let entry = (root?["operations"] as? [String: Any])?[operation] as? [String: Any]
        if let name = entry?[part] as? String { return name }
        return (entry?[part] as? [String: String])?[kind]
    }

    /// Records `payload` to be checked against schema `name`; `label` names it in failures.
    public func add(_ name: String, _ payload: Data, label: String) {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        let safe = label.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        try? payload.write(to: URL(fileURLWithPath: directory.path + "/\(name)--\(count)-\(String(safe)).json"))
    }

    public var recorded: Int { lock.withLock { count } }

    /// Validates everything recorded; the failures, one line each (empty when all pass).
    public func failures() throws -> [String] {
        let result = try Shell.run([
            "python3", BuildProducts.packageRoot + "/Tests/Fixtures/validate_payloads.py", Self.folder, directory.path,
        ])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        // The closing line must count every payload: none skipped, none unread.
        guard lines.last == "\(recorded - lines.count + 1) passed, \(lines.count - 1) failed" || result.status != 0 else {
            return ["validate_payloads.py counted \(lines.last ?? "nothing") for \(recorded) payloads"]
        }
        if result.status == 0 { return [] }
        let failures = lines.filter { !$0.hasSuffix(" failed") }
        return failures.isEmpty ? ["validate_payloads.py failed (\(result.status)): \(result.stderr)"] : failures
    }
}
