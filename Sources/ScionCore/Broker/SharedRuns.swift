import Foundation

/// Requests that read the grove and answer every agent alike (`list`,
/// with the same arguments): one that arrives while such a run is under
/// way, or within `reuseWindow` after it ended, gets that run's answer
/// instead of a run of its own, so twenty agents listing at once cost the
/// host one `scion list`, not twenty. Any other command through the broker
/// (a start, a stop, a message) drops the kept answers, so an agent never
/// gets a list from before its own change.
public final class SharedRuns<Answer: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting: [String: [CheckedContinuation<Answer?, Never>]] = [:]
    private var recent: [String: (answer: Answer, endedAt: ContinuousClock.Instant)] = [:]
    /// Counts the changes: every command through the broker that is not shared.
    private var generation = 0

    public static var commands: Set<String> { ["list", "ls"] }
    /// How long a finished run's answer is given to requests that arrive
    /// after it: agents started together poll together, and their
    /// requests spread over more than one run on a busy host.
    public let reuseWindow: Duration

    /// The key of a request that may share a run; nil for any other.
    public static func key(_ arguments: [String]) -> String? {
        guard let command = arguments.first, commands.contains(command) else { return nil }
        return arguments.joined(separator: "\u{0}")
    }

    public init(reuseWindow: Duration = .milliseconds(200)) {
        self.reuseWindow = reuseWindow
    }

    public func run(_ key: String, _ work: @Sendable () async -> Answer) async -> Answer {
        // A run that began before a change answers no request made after it.
        var flight = key
        var startedIn = 0
        let joined = await withCheckedContinuation { (continuation: CheckedContinuation<Answer?, Never>) in
            lock.withLock {
                startedIn = generation
                flight = key + "\u{0}" + String(generation)
                if let kept = recent[key], ContinuousClock.now - kept.endedAt < reuseWindow {
                    continuation.resume(returning: kept.answer)
                } else if waiting[flight] != nil {
                    waiting[flight]!.append(continuation)
                } else {
                    waiting[flight] = []
                    continuation.resume(returning: nil)
                }
            }
        }
        if let joined { return joined }
        let answer = await work()
        let followers = lock.withLock {
            if generation == startedIn { recent[key] = (answer, ContinuousClock.now) }
            return waiting.removeValue(forKey: flight) ?? []
        }
        for follower in followers { follower.resume(returning: answer) }
        return answer
    }

    /// Drops the kept answers: something may have changed what they say.
    public func forgetAnswers() {
        lock.withLock {
            recent.removeAll()
            generation += 1
        }
    }
}
