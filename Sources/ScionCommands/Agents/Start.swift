import ArgumentParser
import Foundation
import ScionCore

struct Start: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Provision and launch an agent with a task.",
        discussion: """
            Creates the agent's worktree (.scion/agents/<name>/workspace, on branch <name>), its home and
            its tmux session, then runs the harness in it. Example:
              scion start web --harness shell "make test"
            """,
        aliases: ["run"])

    @OptionGroup var agent: AgentOptions
    @Flag(name: [.customShort("a"), .long], help: "Attach to the agent's session once it runs.")
    var attach = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        let record = try orchestrator.start(try agent.request()) { event in
            FileHandle.standardError.write(Data("\(TerminalText.line(event.message))\n".utf8))
        }
        if global.format == .json {
            try Output.json(record)
        } else {
            print(record.summary(verb: "running"))
        }
        if attach {
            try AttachRunner.attach(try orchestrator.attachCommand(record.name))
        }
    }
}

struct Create: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Provision an agent (worktree, home) without launching it; `scion start` or `resume` launches it.")

    @OptionGroup var agent: AgentOptions
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let record = try global.orchestrator().create(try agent.request())
        if global.format == .json { try Output.json(record) } else { print(record.summary(verb: "created")) }
    }
}
