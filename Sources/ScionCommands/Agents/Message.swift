import ArgumentParser
import Foundation
import ScionCore

struct Message: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "message",
        abstract: "Type a message into the agent (a bracketed paste, then Enter).",
        discussion: """
            Refuses, leaving the agent's session as it is, when the agent's harness has exited
            (`scion resume <agent>` starts it again). With --broadcast every running agent is tried,
            each one reported as sent or skipped (with the reason); the exit status is 1 if any was skipped.
            """,
        aliases: ["msg"])

    @Argument(help: "The agent (omit with --broadcast).") var name: String?
    @Argument(parsing: .remaining, help: "The text.") var text: [String] = []
    @Option(name: .customLong("task-file"), help: "Read the text from this file ('-': standard input), byte for byte.")
    var taskFile: String?
    @Flag(help: "First send the harness's interrupt key.") var interrupt = false
    @Flag(help: "Send to every running agent of the grove (the first argument is then part of the text).")
    var broadcast = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        if broadcast {
            let words = (name.map { [$0] } ?? []) + text
            let message = try messageText(words)
            let results = try orchestrator.broadcast(message, interrupt: interrupt)
            try report(results)
            if results.contains(where: { !$0.sent }) { throw CommandFailure(exitCode: 1) }
            return
        }
        guard let name else { throw ScionError(.invalidArgument, "usage: scion message <agent> <text>") }
        try orchestrator.message(name, try messageText(text), interrupt: interrupt)
        if global.format == .json { try Output.json(BroadcastReport(sent: [name], skipped: [])) }
    }

    private func messageText(_ words: [String]) throws -> String {
        guard let text = try TaskText.task(words: words, file: taskFile) else {
            throw ScionError(.invalidArgument, "nothing to send: give the text as arguments or with --task-file FILE")
        }
        return text
    }

    struct BroadcastReport: Encodable {
        struct Skipped: Encodable {
            var name: String
            var reason: String
        }
        var sent: [String]
        var skipped: [Skipped]
    }

    private func report(_ results: [BroadcastResult]) throws {
        let report = BroadcastReport(
            sent: results.filter(\.sent).map(\.name),
            skipped: results.filter { !$0.sent }.map { .init(name: $0.name, reason: $0.reason ?? "not sent") })
        if global.format == .json {
            try Output.json(report)
            return
        }
        for result in results {
            print(result.sent ? "sent to \(result.name)"
                : "skipped \(result.name): \(TerminalText.line(result.reason ?? "not sent"))")
        }
        print("sent to \(report.sent.count) of \(results.count) running agent(s)")
    }
}
