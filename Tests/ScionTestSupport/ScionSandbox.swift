import Foundation

/// A user's world for end-to-end tests: a real git repository with a grove,
/// a private HOME (so the real ~/.scion is never read), and the built
/// `scion` binary. Every agent left behind is deleted at the end.
public final class ScionSandbox: @unchecked Sendable {
    public let repository: GitRepository
    public let home: TemporaryDirectory
    public var extraEnvironment: [String: String] = [:]

    public init(initialize: Bool = true, folderName: String? = nil) throws {
        repository = try GitRepository(folderName: folderName)
        home = try TemporaryDirectory("scion-home")
        if initialize {
            let result = try scion("init")
            guard result.status == 0 else { throw TestFailure("scion init failed: \(result.stderr)") }
        }
    }

    public var path: String { repository.path }

    public var environment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var environment = [
            "HOME": home.path,
            "PATH": inherited["PATH"] ?? "/usr/bin:/bin",
            "USER": inherited["USER"] ?? "root",
            "LANG": "C.UTF-8",
        ]
        for name in Self.diagnosticVariables { environment[name] = inherited[name] }
        environment.merge(extraEnvironment) { $1 }
        return environment
    }

    /// Set for a test run to diagnose a crash of scion itself (a full
    /// backtrace, glibc's heap checks, a sanitizer's options); they reach
    /// every scion the tests run.
    public static let diagnosticVariables = ["SWIFT_BACKTRACE", "MALLOC_CHECK_", "MALLOC_PERTURB_", "TSAN_OPTIONS", "ASAN_OPTIONS"]

    /// Runs the real `scion` binary in the repository.
    @discardableResult
    public func scion(_ arguments: String..., in directory: String? = nil, input: String? = nil) throws -> Shell.Result {
        try scion(arguments, in: directory, input: input)
    }

    @discardableResult
    public func scion(_ arguments: [String], in directory: String? = nil, input: String? = nil) throws -> Shell.Result {
        try Shell.run([BuildProducts.scion] + arguments, in: directory ?? path, environment: environment, input: input)
    }

    /// Runs scion and requires success; returns stdout.
    @discardableResult
    public func check(_ arguments: String...) throws -> String {
        let result = try scion(arguments)
        guard result.status == 0 else {
            throw TestFailure("scion \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }

    /// `scion list --format json`, decoded.
    public func agents() throws -> [[String: Any]] {
        let output = try check("list", "--format", "json")
        return (try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]) ?? []
    }

    public func agent(_ name: String) throws -> [String: Any]? {
        try agents().first { $0["name"] as? String == name }
    }

    public func agentDirectory(_ name: String) -> String { path + "/.scion/agents/" + name }

    deinit {
        if let agents = try? agents() {
            let names = agents.compactMap { $0["name"] as? String }
            if !names.isEmpty { _ = try? scion(["delete", "--force"] + names) }
        }
    }
}
