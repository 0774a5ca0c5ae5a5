import Foundation

/// The `claude`, `gemini` and `codex` stand-ins (Tests/Fixtures/harness-standin.sh
/// under each name) in a bin folder of the sandbox's home, first on its
/// PATH (the local runtime passes scion's PATH on to its agents), and what
/// they recorded.
public struct HarnessStandIns: Sendable {
    public static let names = ["claude", "gemini", "codex"]
    public static let script = BuildProducts.packageRoot + "/Tests/Fixtures/harness-standin.sh"

    /// The bin folder.
    public let directory: String

    public init(in sandbox: ScionSandbox) throws {
        directory = sandbox.home.file("standin-bin")
        let script = try String(contentsOfFile: Self.script, encoding: .utf8)
        for name in Self.names { try write(name, script, executable: true) }
        let path = sandbox.extraEnvironment["PATH"] ?? sandbox.environment["PATH"] ?? "/usr/bin:/bin"
        sandbox.extraEnvironment["PATH"] = directory + ":" + path
    }

    /// A file in the bin folder.
    public func path(_ name: String) -> String { directory + "/" + name }

    public func write(_ name: String, _ content: String, executable: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try content.write(toFile: path(name), atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path(name)) }
    }

    /// What one run of a stand-in saw: its argv, environment and the files
    /// in its home (with their modes).
    public struct Record: Sendable {
        public var argv: [String]
        public var env: [String: String]
        /// Path relative to the home -> octal mode, e.g. ".claude.json" -> "600".
        public var files: [String: String]
        public var text: String

        init(_ text: String) {
            self.text = text
            var section = ""
            var argv: [String] = [], env: [String: String] = [:], files: [String: String] = [:]
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if line.hasPrefix("== ") {
                    section = String(line.dropFirst(3))
                    continue
                }
                switch section {
                case "argv" where line.hasPrefix("arg: "): argv.append(String(line.dropFirst(5)))
                case "env":
                    if let equals = line.firstIndex(of: "=") {
                        env[String(line[..<equals])] = String(line[line.index(after: equals)...])
                    }
                case "files":
                    let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                    if parts.count == 2 { files[parts[1]] = parts[0] }
                default: break
                }
            }
            self.argv = argv
            self.env = env
            self.files = files
        }
    }

    /// The record of `harness`'s `run`-th start in the agent home, once written.
    public static func record(home: String, harness: String, run: Int = 1, timeout: Double = 20) -> Record? {
        let path = "\(home)/standin/\(harness)-\(run).txt"
        guard Shell.eventually(timeout: timeout, { FileManager.default.fileExists(atPath: path) }),
              let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        return Record(text)
    }

    /// Lines the stand-in noted about problems (a missing hook, a hook that
    /// printed on stdout); empty when all went well.
    public static func notes(home: String, harness: String) -> String {
        (try? String(contentsOfFile: "\(home)/standin/\(harness)-notes.txt", encoding: .utf8)) ?? ""
    }

    /// Lets a gated stand-in (STANDIN_GATED=1) go past `step`.
    public static func open(gate step: String, home: String) throws {
        try Data().write(to: URL(fileURLWithPath: "\(home)/standin/gate-\(step)"))
    }
}
