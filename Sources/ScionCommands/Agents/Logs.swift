import ArgumentParser
import Dispatch
import Foundation
import ScionCore
#if canImport(Glibc)
import Glibc
#endif

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the agent's log (everything its agent window printed).")

    @Argument(help: "The agent.") var name: String
    @Option(name: [.customShort("n"), .long], help: "Only the last N lines.") var tail: Int?
    @Flag(name: [.customShort("f"), .long], help: "Keep printing new output until the agent stops (or Ctrl-C).") var follow = false
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("-n must be zero or more") }
    }

    func run() async throws {
        // Ctrl-C or SIGTERM during a follow cancels the plugin call: the
        // runtime sees it and returns, and scion exits 0 after what it printed.
        let cancellation = PluginCancellation()
        let signals = follow ? CancelOnSignals([SIGINT, SIGTERM], cancellation) : nil
        defer { signals?.remove() }
        try global.orchestrator().logs(name, tail: tail, follow: follow, cancellation: cancellation) { text in
            Output.write(text)
            return true
        }
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
