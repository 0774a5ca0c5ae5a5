import Foundation
import ScionCore
import Testing

/// The grove broker's shared `list` runs (issue 11): one run answers the
/// requests that arrive while it runs or just after, never across a change.
@Suite("shared runs of the grove broker")
struct SharedRunsTests {
    /// Counts the runs and lets a test hold one open.
    final class Work: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        private var gate: CheckedContinuation<Void, Never>?
        private var held = false
        var runs: Int { lock.withLock { count } }

        init(holding: Bool = false) { held = holding }

        func run() async -> Int {
            let number = lock.withLock { count += 1; return count }
            if lock.withLock({ held }) {
                await withCheckedContinuation { continuation in lock.withLock { gate = continuation } }
            }
            return number
        }

        /// True once a run waits at the gate.
        var waiting: Bool { lock.withLock { gate != nil } }

        func release() {
            let continuation = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                held = false
                defer { gate = nil }
                return gate
            }
            continuation?.resume()
        }
    }

    static func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test("requests made while a run is under way get its answer")
    func joinsTheRunInFlight() async throws {
        let shared = SharedRuns<Int>(), work = Work(holding: true)
        async let first = shared.run("list") { await work.run() }
        try await Self.eventually { work.waiting }
        async let second = shared.run("list") { await work.run() }
        async let third = shared.run("list") { await work.run() }
        try await Task.sleep(for: .milliseconds(50))
        work.release()
        let answers = await [first, second, third]
        #expect(answers == [1, 1, 1])
        #expect(work.runs == 1)
    }

    @Test("a request just after a run gets its answer; one after the window runs again")
    func reusesWithinTheWindow() async throws {
        let shared = SharedRuns<Int>(reuseWindow: .seconds(1)), work = Work()
        #expect(await shared.run("list") { await work.run() } == 1)
        #expect(await shared.run("list") { await work.run() } == 1)
        #expect(await shared.run("list\u{0}--format\u{0}json") { await work.run() } == 2, "other arguments share nothing")
        try await Task.sleep(for: .milliseconds(1200))
        #expect(await shared.run("list") { await work.run() } == 3)
    }

    @Test("after a change no kept answer is given, and a run begun before it is not joined or kept")
    func aChangeEndsSharing() async throws {
        let shared = SharedRuns<Int>(reuseWindow: .seconds(60)), work = Work()
        #expect(await shared.run("list") { await work.run() } == 1)
        shared.forgetAnswers()
        #expect(await shared.run("list") { await work.run() } == 2)

        let slow = Work(holding: true)
        shared.forgetAnswers()
        async let before = shared.run("list") { await slow.run() }
        try await Self.eventually { slow.waiting }
        shared.forgetAnswers()
        let after = await shared.run("list") { 100 }
        #expect(after == 100, "a request after the change joined a run begun before it")
        slow.release()
        #expect(await before == 1)
        #expect(await shared.run("list") { 200 } == 100, "the run after the change is the one kept")
    }

    @Test("only list shares runs")
    func onlyListShares() {
        #expect(SharedRuns<Int>.key(["list", "--format", "json"]) != nil)
        #expect(SharedRuns<Int>.key(["ls"]) != nil)
        #expect(SharedRuns<Int>.key(["start", "child"]) == nil)
        #expect(SharedRuns<Int>.key([]) == nil)
    }
}
