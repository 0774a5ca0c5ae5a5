import ArgumentParser
import Testing
@testable import ScionCommands

@Suite("Command tree")
struct CommandTreeTests {
    /// ArgumentParser builds the whole command tree at every start; a command
    /// without an explicit `commandName` gets its name from
    /// `String(describing:)` of its type, a dynamic cast that scans every
    /// loaded image's conformance records once per type (milliseconds of each
    /// `scion` start, measured with perf).
    @Test("every command names itself in its configuration, so no start pays for reflecting on type names")
    func everyCommandHasAnExplicitName() {
        func unnamed(_ command: ParsableCommand.Type, path: [String]) -> [String] {
            let configuration = command.configuration
            let name = configuration.commandName ?? "<\(command)>"
            let here = configuration.commandName == nil ? [(path + [name]).joined(separator: " ")] : []
            return here + configuration.subcommands.flatMap { unnamed($0, path: path + [name]) }
        }
        #expect(unnamed(ScionCommand.self, path: []) == [])
        #expect(ScionCommand.configuration.subcommands.count > 15)
    }
}

@Suite("Early libgit2 start")
struct GitCommandsTests {
    @Test("every name that starts libgit2 early is a top-level command or one of its aliases")
    func namesAreCommands() {
        let names = Set(ScionCommand.configuration.subcommands.flatMap { [$0._commandName] + $0.configuration.aliases })
        #expect(ScionCLI.gitCommands.subtracting(names) == [])
        #expect(ScionCLI.gitCommands.isSuperset(of: ["start", "create", "list", "delete", "diff", "merge"]))
    }
}
