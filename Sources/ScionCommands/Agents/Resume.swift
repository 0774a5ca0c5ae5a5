import ArgumentParser
import Foundation
import ScionCore

struct Resume: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Relaunch a stopped agent on the same home and worktree, with the harness's resume flag.")

    @Argument(help: "The agent.") var name: String
    @Argument(parsing: .remaining, help: "A new task for the agent (optional).") var task: [String] = []
    @Option(name: .customLong("task-file"), help: "Read the new task from this file ('-': standard input), byte for byte.")
    var taskFile: String?
    @Flag(name: [.customShort("a"), .long], help: "Attach once it runs.") var attach = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        // `-p/--profile` on resume is explicit: the agent's spec is resolved
        // again with that profile and kept (its other commands use its spec).
        let record = try orchestrator.resume(
            name, task: try TaskText.task(words: task, file: taskFile), profile: global.profile
        ) { event in
            FileHandle.standardError.write(Data("\(TerminalText.line(event.message))\n".utf8))
        }
        if global.format == .json { try Output.json(record) } else { print(record.summary(verb: "resumed")) }
        if attach { try AttachRunner.attach(try orchestrator.attachCommand(name)) }
    }
}
