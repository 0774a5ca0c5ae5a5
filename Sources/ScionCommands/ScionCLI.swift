import ArgumentParser
import Foundation
import Logging
import ScionCore

/// The `scion` command: parses, runs, and turns errors into one line on
/// stderr and a non-zero exit status.
public enum ScionCLI {
    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        let status = await run(moveGlobalOptions(arguments))
        WorktreeManager.finishBackgroundInitialization()
        exit(status)
    }

    /// Runs one command line and returns its exit status.
    static func run(_ arguments: [String]) async -> Int32 {
        let debug = arguments.contains("--debug")
        LoggingSystem.bootstrap { _ in StderrLogHandler(level: debug ? .debug : .warning) }
        do {
            var command = try ScionCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as ScionError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            if debug, let cause = error.cause {
                FileHandle.standardError.write(Data("cause: \(String(reflecting: cause))\n".utf8))
            }
            return error.exitCode
        } catch let error as CommandFailure {
            return error.exitCode
        } catch {
            let code = ScionCommand.exitCode(for: error)
            let message = ScionCommand.fullMessage(for: error)
            if code == .success {
                print(message)
            } else {
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
            return code.rawValue
        }
    }

    /// `scion -g path list` means `scion list -g path`: global options may
    /// come before the command name.
    static func moveGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if GlobalOptions.valueOptions.contains(name) {
                leading.append(argument)
                if !argument.contains("="), index + 1 < arguments.count {
                    leading.append(arguments[index + 1])
                    index += 1
                }
            } else if GlobalOptions.flagOptions.contains(argument) {
                leading.append(argument)
            } else {
                break
            }
            index += 1
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        var command: ParsableCommand.Type = ScionCommand.self
        var path: [String] = []
        while index < arguments.count, let subcommand = command.configuration.subcommands.first(where: {
            $0._commandName == arguments[index] || $0.configuration.aliases.contains(arguments[index])
        }) {
            path.append(arguments[index])
            command = subcommand
            index += 1
        }
        return path + leading + arguments[index...]
    }
}

/// A failure already reported to the user; only the exit status is left.
struct CommandFailure: Error {
    var exitCode: Int32
}

public struct ScionCommand: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "scion",
        abstract: "Run many AI coding agents in parallel, each in its own worktree, home, tmux session and container or process.",
        discussion: """
            Start with `scion init` in a git repository, then `scion start <agent> "<task>"`.
            Global options (-g, --global, -p, --format, --debug, -y) may come before or after the command.
            """,
        version: version,
        subcommands: [
            Init.self, Start.self, Create.self, Stop.self, Resume.self, Delete.self, Prune.self, List.self, Watch.self,
            Attach.self, Look.self, Logs.self, Message.self, TemplatesCommand.self, ConfigCommand.self,
            PluginsCommand.self, Doctor.self, Version.self, Hook.self, StatusReport.self,
        ]
    )

    public init() {}
}
