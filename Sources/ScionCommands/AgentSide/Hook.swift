import ArgumentParser
import Foundation
import ScionAgentEvents
import ScionCore

// The agent-side commands, as the host's `scion` answers them (local
// agents have it on PATH). They do exactly what `scion-agent hook` and
// `scion-agent status` do inside containers: append one line to
// $HOME/.scion/events.jsonl. The host normalizes it later (EventLog).

struct Hook: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Run by a harness's hooks inside an agent: records the event (JSON on stdin) for the host.",
        discussion: "Prints nothing on stdout and always exits 0, so a failed record never blocks the agent.",
        shouldDisplay: false)

    @Option(help: "The harness whose event dialect this is.") var harness: String
    @Argument(help: "The event name.") var event: String
    @Argument(help: "An event JSON given as an argument (Codex notify) instead of stdin.") var payload: String?
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let home = global.context().homeDirectory
        let bytes = payload.map { Array($0.utf8) } ?? AgentEvents.readStandardInput()
        do {
            try AgentEvents.recordHook(home: home, harness: harness, event: event, payload: bytes)
        } catch {
            FileHandle.standardError.write(Data("scion hook: \(error)\n".utf8))
        }
    }
}

struct StatusReport: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Report this agent's state from inside it: \(StatusKind.usage).")

    @Argument(help: "\(StatusKind.usage).") var kind: String
    @Argument(parsing: .remaining, help: "A short message.") var message: [String] = []
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        guard let kind = StatusKind(word: kind) else {
            throw ScionError(.invalidArgument, "unknown status \"\(kind)\": use \(StatusKind.usage)")
        }
        guard context.environment["SCION_AGENT"] != nil else {
            throw ScionError(.failedPrecondition, "scion status is for agents to report their own state; run it inside an agent")
        }
        do {
            try AgentEvents.recordStatus(
                home: context.homeDirectory, kind: kind, message: message.isEmpty ? nil : message.joined(separator: " "))
        } catch {
            throw ScionError(.internal, "cannot record the status: \(error)")
        }
        // A local agent's report reaches its parent now (a notice in its
        // pane), not at the next `scion list`; best effort.
        if kind == .taskCompleted || kind == .askUser, let name = context.environment["SCION_AGENT"],
           let orchestrator = try? Orchestrator(context: context), (try? orchestrator.store.load(name))?.parent != nil {
            _ = try? orchestrator.status(name)
        }
    }
}
