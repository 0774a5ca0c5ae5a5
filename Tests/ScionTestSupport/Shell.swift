import Foundation
import ScionPluginKit

/// Runs real programs for tests, from argv arrays.
public enum Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    @discardableResult
    public static func run(
        _ argv: [String], in directory: String? = nil, environment: [String: String]? = nil, input: String? = nil
    ) throws -> Result {
        let output = try Subprocess.run(
            argv, environment: environment, input: input.map { Data($0.utf8) }, workingDirectory: directory)
        return Result(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// Runs and requires exit status 0.
    @discardableResult
    public static func check(_ argv: [String], in directory: String? = nil) throws -> String {
        let result = try run(argv, in: directory)
        guard result.status == 0 else {
            throw TestFailure("\(argv.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
        return result.stdout
    }

    /// Waits until `condition` holds, polling; false on timeout.
    public static func eventually(timeout: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
