import ArgumentParser
import ScionCore

/// A command whose work blocks (file locks, subprocesses, plugin calls):
/// `runBlocking` runs on a thread of its own (`Blocking.run`), never on
/// Swift's cooperative pool.
protocol BlockingCommand: AsyncParsableCommand, Sendable {
    func runBlocking() throws
}

extension BlockingCommand {
    func run() async throws {
        try await Blocking.run { [self] in try self.runBlocking() }
    }
}
