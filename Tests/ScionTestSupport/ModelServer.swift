import Foundation

/// The scripted model API server (Tests/Fixtures/model-server.py) the real
/// agent CLIs talk to in the tests: Anthropic Messages and OpenAI Responses,
/// streaming, on a port of its own. It records every request; `requests()`
/// reads them. Stopped when the value goes away.
public final class ModelServer: @unchecked Sendable {
    public static let program = BuildProducts.packageRoot + "/Tests/Fixtures/model-server.py"

    /// One answer: text that ends the turn, or a call of the CLI's shell
    /// tool; `delay` seconds before it (the stream is open, nothing comes).
    public struct Step: @unchecked Sendable {
        public var json: [String: Any] { fields }
        var fields: [String: Any]
        public static func text(_ text: String, delay: Double? = nil) -> Step { Step(["text": text], delay) }
        /// A text answer after `delay` seconds in which nothing is streamed
        /// (the other text steps with a delay stream a first piece at once).
        public static func quietText(_ text: String, delay: Double) -> Step { Step(["text": text, "quiet": true], delay) }
        public static func shell(_ command: String, delay: Double? = nil) -> Step { Step(["shell": command], delay) }
        init(_ fields: [String: Any], _ delay: Double?) {
            self.fields = fields
            if let delay { self.fields["delay"] = delay }
        }
    }

    /// Prompts that contain `match` are answered with `steps`, one per
    /// assistant turn (the last one repeats).
    public struct Rule: Sendable {
        public var match: String
        public var steps: [Step]
        public init(_ match: String, _ steps: [Step]) {
            self.match = match
            self.steps = steps
        }
    }

    /// A request the server received.
    public struct Request: @unchecked Sendable {
        public let entry: [String: Any]
        /// The raw JSON line, for "does the CLI send X anywhere" checks.
        public let line: String
        public var method: String { entry["method"] as? String ?? "" }
        public var path: String { entry["path"] as? String ?? "" }
        public var headers: [String: String] { entry["headers"] as? [String: String] ?? [:] }
        public var body: [String: Any] { entry["body"] as? [String: Any] ?? [:] }
        /// "anthropic" or "openai" for model calls, nil for the rest.
        public var api: String? { entry["api"] as? String }
        /// "rule<N>" or "default".
        public var rule: String? { entry["rule"] as? String }
        public var step: Int? { entry["step"] as? Int }
        public var model: String? { body["model"] as? String }
        /// The request body as JSON text.
        public var bodyText: String {
            (try? JSONSerialization.data(withJSONObject: entry["body"] ?? NSNull(), options: [.fragmentsAllowed]))
                .flatMap { String(data: $0, encoding: .utf8) } ?? ""
        }
    }

    public let directory: TemporaryDirectory
    public let port: Int
    private let process: Process

    /// Listens on `host` (127.0.0.1; a container on the host network reaches it there too).
    public init(rules: [Rule], defaultSteps: [Step] = [.text("ok")], host: String = "127.0.0.1") throws {
        directory = try TemporaryDirectory("scion-model-server")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.program, "--script", directory.file("script.json"), "--log", directory.file("requests.jsonl"),
            "--port-file", directory.file("port"), "--host", host,
        ]
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: directory.file("server.log"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("server.log")))
        process.standardOutput = log
        process.standardError = log
        self.process = process
        try Self.writeScript(rules: rules, defaultSteps: defaultSteps, into: directory)
        try process.run()
        var found: Int?
        let folder = directory
        _ = Shell.eventually(timeout: 30) {
            found = folder.read("port").flatMap { Int($0) }
            return found != nil || !process.isRunning
        }
        guard let found else {
            process.terminate()
            throw TestFailure("the model server did not start: \(folder.read("server.log") ?? "no output")")
        }
        port = found
    }

    /// Where the CLIs send requests (no trailing slash, no /v1).
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Replaces the script; the server reads it at each request.
    public func setScript(rules: [Rule], defaultSteps: [Step] = [.text("ok")]) throws {
        try Self.writeScript(rules: rules, defaultSteps: defaultSteps, into: directory)
    }

    private static func writeScript(rules: [Rule], defaultSteps: [Step], into directory: TemporaryDirectory) throws {
        let script: [String: Any] = [
            "rules": rules.map { ["match": $0.match, "steps": $0.steps.map(\.json)] as [String: Any] },
            "default": defaultSteps.map(\.json),
        ]
        let data = try JSONSerialization.data(withJSONObject: script, options: [.prettyPrinted, .sortedKeys])
        let temporary = directory.file("script.json.tmp")
        try data.write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, directory.file("script.json"))
    }

    /// Every request so far, in order.
    public func requests() -> [Request] {
        guard let text = directory.read("requests.jsonl") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Request(entry: entry, line: String(line))
        }
    }

    /// The model calls (Messages or Responses requests) so far.
    public func modelCalls() -> [Request] { requests().filter { $0.api == "anthropic" || $0.api == "openai" } }

    /// Waits until a model call satisfies `condition`; returns it.
    public func waitForCall(timeout: Double = 60, _ condition: (Request) -> Bool) -> Request? {
        var found: Request?
        _ = Shell.eventually(timeout: timeout) {
            found = modelCalls().first(where: condition)
            return found != nil
        }
        return found
    }

    deinit {
        // SIGKILL, not terminate(): a child inherits the test thread's
        // blocked signals, and a blocked SIGTERM would leave it running.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The real agent CLIs scripts/test-clis.sh put in its cache.
public enum RealCLIs {
    /// The cache's bin folder (SCION_TEST_CLI_DIR, as the script decides).
    public static var directory: String {
        if let explicit = ProcessInfo.processInfo.environment["SCION_TEST_CLI_DIR"], !explicit.isEmpty {
            return explicit + "/bin"
        }
        if FileManager.default.isWritableFile(atPath: "/var/cache/scion/clis") { return "/var/cache/scion/clis/bin" }
        return NSHomeDirectory() + "/.cache/scion/clis/bin"
    }

    /// The binary of `name` ("claude", "codex") with links resolved, or nil.
    public static func path(_ name: String) -> String? {
        let link = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: link) else { return nil }
        return URL(fileURLWithPath: link).resolvingSymlinksInPath().path
    }

    /// Why the real-CLI tests cannot run here, or nil when they can. In CI
    /// (CI=true) the test command installs the CLIs, so a missing one is a
    /// failure there, not a reason.
    public static var missing: String? {
        let absent = ["claude", "codex"].filter { path($0) == nil }
        guard !absent.isEmpty else { return nil }
        return "\(absent.joined(separator: " and ")) not in \(directory): run scripts/test-clis.sh"
    }

    public static var available: Bool {
        missing == nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }
}
