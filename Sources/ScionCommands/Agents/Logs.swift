import ArgumentParser
import Dispatch
import Foundation
import ScionCore
#if canImport(Glibc)
import Glibc
#endif

struct Logs: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the agent's log (everything its agent window printed); --format json: one {\"agent\", \"text\"} object per line.")

    @Argument(help: "The agent.") var name: String
    @Option(name: [.customShort("n"), .long], help: "Only the last N lines.") var tail: Int?
    @Flag(name: [.customShort("f"), .long], help: "Keep printing new output until the agent stops (or Ctrl-C).") var follow = false
    @Flag(help: "Print the agent's journal instead: messages sent and received, notices about its children, refusals.")
    var journal = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("-n must be zero or more") }
    }

    func runBlocking() throws {
        if journal {
            let entries = try global.orchestrator().journalEntries(name)
            if global.format == .json { return try Output.json(entries) }
            for entry in entries {
                let peer = entry.peer.map { entry.kind == .messageSent ? " to \($0)" : " from \($0)" } ?? ""
                print("\(ISO8601DateFormatter().string(from: entry.at))  \(entry.kind.rawValue)\(peer)  \(TerminalText.line(entry.text))")
            }
            return
        }
        // Ctrl-C or SIGTERM during a follow cancels the plugin call: the
        // runtime sees it and returns, and scion exits 0 after what it printed.
        let cancellation = PluginCancellation()
        let signals = follow ? CancelOnSignals([SIGINT, SIGTERM], cancellation) : nil
        defer { signals?.remove() }
        guard global.format == .json else {
            try global.orchestrator().logs(name, tail: tail, follow: follow, cancellation: cancellation) { text in
                Output.write(text)
                return true
            }
            return
        }
        // JSON lines: one {"agent", "text"} object per line of output (the
        // text without its line break); a last line without one at the end.
        let lines = LogLines(agent: name)
        try global.orchestrator().logs(name, tail: tail, follow: follow, cancellation: cancellation) { text in
            lines.add(text)
            return true
        }
        lines.finish()
    }
}

/// Splits log chunks into lines and writes each as one JSON object.
final class LogLines: @unchecked Sendable {
    struct Line: Encodable {
        var agent: String
        var text: String
    }

    private let agent: String
    private var pending = ""
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    init(agent: String) { self.agent = agent }

    func add(_ chunk: String) {
        pending += chunk
        // By scalars: "\r\n" is one Character in Swift.
        while let newline = pending.unicodeScalars.firstIndex(of: "\n") {
            var line = String(pending.unicodeScalars[..<newline])
            if line.unicodeScalars.last == "\r" { line.unicodeScalars.removeLast() }
            pending = String(pending.unicodeScalars[pending.unicodeScalars.index(after: newline)...])
            emit(line)
        }
    }

    func finish() {
        if !pending.isEmpty { emit(pending) }
        pending = ""
    }

    private func emit(_ text: String) {
        guard let data = try? encoder.encode(Line(agent: agent, text: text)) else { return }
        Output.write(TerminalText.escapeJSON(String(decoding: data, as: UTF8.self)) + "\n")
    }
}

/// Turns signals into a cancellation for as long as it lives.
final class CancelOnSignals {
    private let sources: [any DispatchSourceSignal]
    private let numbers: [Int32]

    init(_ numbers: [Int32], _ cancellation: PluginCancellation) {
        self.numbers = numbers
        sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { cancellation.cancel() }
            source.resume()
            return source
        }
    }

    func remove() {
        for source in sources { source.cancel() }
        for number in numbers { signal(number, SIG_DFL) }
    }
}
