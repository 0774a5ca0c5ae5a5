import ArgumentParser
import Foundation
import ScionCore
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

struct Attach: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach your terminal to the agent's tmux session; detach with the tmux prefix then d.")

    @Argument(help: "The agent.") var name: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        try AttachRunner.attach(try global.orchestrator().attachCommand(name))
    }
}

/// Replaces this process with the runtime's attach command, on the user's terminal.
enum AttachRunner {
    static func attach(_ command: AttachCommand) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ScionError(.failedPrecondition, "attach needs a terminal; use `scion look` to see the screen or `scion message` to type into it")
        }
        unsetenv("TMUX")
        for (key, value) in command.env { setenv(key, value, 1) }
        let arguments = command.argv.map { strdup($0) } + [nil]
        execvp(command.argv[0], arguments)
        throw ScionError(.unavailable, "cannot run \(command.argv[0]): \(String(cString: strerror(errno)))")
    }
}
