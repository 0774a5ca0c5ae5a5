import Foundation
import ScionCore

/// A task or message given with `--task-file FILE` (`-`: standard input),
/// read byte for byte.
enum TaskText {
    static func read(_ path: String) throws -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            try AgentAuthority(environment: ProcessInfo.processInfo.environment)
                .requireOwnFile((path as NSString).expandingTildeInPath, workingDirectory: FileManager.default.currentDirectoryPath)
            guard let contents = FileManager.default.contents(atPath: (path as NSString).expandingTildeInPath) else {
                throw ScionError(.invalidArgument, "cannot read the task file \(path): no such readable file")
            }
            data = contents
        }
        let source = path == "-" ? "standard input" : "the task file \(path)"
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScionError(.invalidArgument, "\(source) is not UTF-8 text; a task must be text")
        }
        guard !text.utf8.contains(0) else {
            throw ScionError(.invalidArgument, "\(source) holds a NUL byte; a task must be text")
        }
        guard !text.isEmpty else { throw ScionError(.invalidArgument, "\(source) is empty: give the agent a task") }
        return text
    }

    /// The task from the arguments or `--task-file`, never both; a task
    /// that is only `-` is standard input, as `--task-file -` is.
    static func task(words: [String], file: String?) throws -> String? {
        if file == nil && words == ["-"] { return try read("-") }
        guard let file else { return words.isEmpty ? nil : words.joined(separator: " ") }
        guard words.isEmpty else {
            throw ScionError(.invalidArgument, "give the task either as arguments or with --task-file, not both")
        }
        return try read(file)
    }
}
