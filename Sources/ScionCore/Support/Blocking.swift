import Foundation

/// Blocking work (file locks, subprocesses, plugin calls, sleeps) kept off
/// Swift's cooperative thread pool: each piece runs on a thread of its own,
/// and an async caller is resumed when it returns. A long-lived process (a
/// broker serving many agents) then never starves its other tasks.
public enum Blocking {
    /// Runs `work` on a dedicated thread; the caller suspends meanwhile.
    public static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.name = "scion-blocking"
            thread.start()
        }
    }

    /// How many fan-out operations (`stop a b c`, `delete`, broadcast) run at once.
    public static let defaultWidth = 8

    /// `work` for every item, at most `width` at a time, each on a thread of
    /// its own; the results in the items' order. Blocks the calling thread
    /// (call it inside `run` from async code).
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], width: Int = defaultWidth, _ work: @escaping @Sendable (T) -> R
    ) -> [R] {
        guard items.count > 1 else { return items.map(work) }
        let results = Slots<R>(count: items.count)
        let slots = DispatchSemaphore(value: max(1, width))
        let group = DispatchGroup()
        for (index, item) in items.enumerated() {
            slots.wait()
            group.enter()
            let thread = Thread {
                results.set(index, work(item))
                slots.signal()
                group.leave()
            }
            thread.name = "scion-fan-out"
            thread.start()
        }
        group.wait()
        return results.values
    }

    /// Starts `work` on a thread of its own and returns at once; `wait()`
    /// blocks until its result is there. For independent work a blocking
    /// operation overlaps with its own (`list` reads the worktrees while the
    /// runtimes answer).
    public static func start<R: Sendable>(_ work: @escaping @Sendable () -> R) -> Pending<R> {
        let pending = Pending<R>()
        let thread = Thread { pending.finish(work()) }
        thread.name = "scion-background"
        thread.start()
        return pending
    }

    public final class Pending<R: Sendable>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var result: R?

        fileprivate init() {}

        fileprivate func finish(_ value: R) {
            lock.withLock { result = value }
            done.signal()
        }

        /// The result; blocks the calling thread until `work` has returned.
        public func wait() -> R {
            if let value = lock.withLock({ result }) { return value }
            done.wait()
            done.signal()
            return lock.withLock { result! }
        }
    }

    private final class Slots<R>: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [R?]
        init(count: Int) { storage = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: R) { lock.withLock { storage[index] = value } }
        var values: [R] { lock.withLock { storage.map { $0! } } }
    }
}

/// One item of a fan-out: its name and, if it failed, why.
public struct FanOutResult: Sendable {
    public var name: String
    public var error: ScionError?
    public var succeeded: Bool { error == nil }

    public init(name: String, error: ScionError?) {
        self.name = name
        self.error = error
    }
}
