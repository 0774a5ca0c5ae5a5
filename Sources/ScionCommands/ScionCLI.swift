import ArgumentParser
import Foundation
import Logging
import ScionCore

/// The `scion` command: parses, runs, and turns errors into one line on
/// stderr and a non-zero exit status.
public enum ScionCLI {
    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        let status = await run(moveGlobalOptions(arguments))
        WorktreeManager.shutdown()
        exit(status)
    }

    /// Runs one command line and returns its exit status.
    static func run(_ arguments: [String]) async -> Int32 {
        if let command = arguments.first, gitCommands.contains(command) { WorktreeManager.initializeInBackground() }
        let debug = arguments.contains("--debug")
        LoggingSystem.bootstrap { _ in StderrLogHandler(level: debug ? .debug : .warning) }
        do {
            if arguments == ["help", "agents"] {
                print(AgentInstructions.text, terminator: "")
                return 0
            }
            try checkHelpTopic(arguments)
            var command = try ScionCommand.parseAsRoot(arguments)
            try checkAuthority(type(of: command))
            FileLock.holderCommand = holderName(of: type(of: command), arguments: arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as ScionError {
            FileHandle.standardError.write(Data("error: \(TerminalText.line(error.message))\n".utf8))
            if debug, let cause = error.cause {
                FileHandle.standardError.write(Data("cause: \(TerminalText.line(String(reflecting: cause)))\n".utf8))
            }
            return error.exitCode
        } catch let error as CommandFailure {
            return error.exitCode
        } catch {
            let code = ScionCommand.exitCode(for: error)
            if code == .success {
                print(ScionCommand.fullMessage(for: error))
                return 0
            }
            if code == .validationFailure {
                reportUsageError(ScionCommand.message(for: error), arguments: arguments)
                return usageErrorExitCode
            }
            FileHandle.standardError.write(Data((ScionCommand.fullMessage(for: error) + "\n").utf8))
            return code.rawValue
        }
    }

    /// The commands (and aliases) that open the grove's repository with
    /// libgit2: its initialization (a few milliseconds) starts before the
    /// command line is parsed, so it overlaps with parsing and settings.
    /// By name, because building every command's configuration to ask would
    /// cost more than it saves; a test checks that each name is a command.
    static let gitCommands: Set<String> = [
        "start", "run", "create", "resume", "stop", "delete", "rm", "prune", "list", "ls", "watch",
        "diff", "merge", "sync", "init",
    ]

    /// docs/cli.md: an argument error exits 2 with one `error:` line and a
    /// hint naming the help of the command that was meant.
    static let usageErrorExitCode: Int32 = 2

    static func reportUsageError(_ message: String, arguments: [String]) {
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        let sentence = firstLine.hasPrefix("Error: ") ? String(firstLine.dropFirst("Error: ".count)) : firstLine
        let path = commandPath(arguments)
        let help = (["scion"] + path + ["--help"]).joined(separator: " ")
        FileHandle.standardError.write(Data("error: \(sentence)\nusage: see '\(help)'\n".utf8))
    }

    /// `scion stop`, `scion config set`: what a lock this process holds says
    /// it is, never with its arguments. From the parsed command, so no other
    /// command's configuration is built (that costs milliseconds at start).
    static func holderName(of command: ParsableCommand.Type, arguments: [String]) -> String {
        let leaf = command._commandName
        let topLevel = ScionCommand.configuration.subcommands.contains { ObjectIdentifier($0) == ObjectIdentifier(command) }
        guard !topLevel, let group = arguments.first, !group.hasPrefix("-") else { return "scion \(leaf)" }
        return "scion \(group) \(leaf)"
    }

    /// The subcommand names at the start of `arguments` (`["templates", "show"]`).
    static func commandPath(_ arguments: [String]) -> [String] {
        var command: ParsableCommand.Type = ScionCommand.self
        var path: [String] = []
        for argument in arguments {
            guard let subcommand = command.configuration.subcommands.first(where: {
                $0._commandName == argument || $0.configuration.aliases.contains(argument)
            }) else { break }
            path.append(argument)
            command = subcommand
        }
        return path
    }

    /// Commands only the user may run, never an agent (SCION_AGENT set):
    /// they change the host's settings, trust, templates or other groves.
    static let userOnlyCommands: [(ParsableCommand.Type, String)] = [
        (ConfigSet.self, "change settings"), (ConfigUnset.self, "change settings"), (Trust.self, "trust a grove"),
        (TemplatesCreate.self, "create templates"), (TemplatesDelete.self, "delete templates"),
        (Init.self, "make a grove"), (Prune.self, "prune the grove"),
    ]

    static func checkAuthority(_ command: ParsableCommand.Type) throws {
        guard let match = userOnlyCommands.first(where: { ObjectIdentifier($0.0) == ObjectIdentifier(command) }) else { return }
        try AgentAuthority(environment: ProcessInfo.processInfo.environment).requireUser(match.1)
    }

    /// `scion help nosuch` fails instead of printing the top-level help.
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help", arguments.count > 1 else { return }
        let topic = Array(arguments.dropFirst())
        if commandPath(topic).count < topic.count {
            throw ValidationError("no command named '\(topic.joined(separator: " "))'")
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
            Diff.self, Merge.self, Sync.self,
            Attach.self, Look.self, Logs.self, Message.self, Wait.self, TemplatesCommand.self, ConfigCommand.self,
            PluginsCommand.self, Doctor.self, Trust.self, Version.self, Hook.self, StatusReport.self,
        ]
    )

    public init() {}
}
