import Foundation
import Logging
import ScionCore
import ScionPluginKit
import ServiceLifecycle

/// Follows the grove's agents on runtimes that do not share the host's
/// paths (pods), so `scion list` needs no exec per pod: for each running
/// one, a long poll of its events through the runtime (`read_agent_file`
/// with `wait_seconds`), resumed from the last byte copied, with backoff
/// when the runtime fails; the copy and a heartbeat go to the agent's
/// `remote/` folder (ActivityCache), which only scion writes. Every
/// `runtimes.<name>.sync_interval` it also brings the agent's commits home
/// (`sync from`), under the agent's lock, never during a user's command.
final class RemoteFollower: Sendable {
    let broker: GroveBroker
    let scionPath: String
    let logger: Logger
    let scanInterval: Duration = .seconds(2)
    /// How long a periodic sync waits for a command that holds the agent.
    let lockTimeout: Double = 5
    private let state = FollowState()

    init(broker: GroveBroker, scionPath: String, logger: Logger) {
        self.broker = broker
        self.scionPath = scionPath
        self.logger = logger
    }

    /// Some agent is followed: the broker is needed.
    var isBusy: Bool { state.followedCount > 0 }

    /// Ends `run` once its followers have returned (at most one poll later).
    func stop() { state.stop() }

    func run() async {
        // Who holds an agent's lock during a periodic sync, as `scion stop` names it.
        FileLock.holderCommand = "scion-broker"
        await withDiscardingTaskGroup { group in
            while !state.stopped && !Task.isCancelled && !Task.isShuttingDownGracefully {
                let skipping = state.skipping
                let agents = (try? await Blocking.run { [self] in self.orchestrator()?.followedAgents(skipping: skipping) ?? [] }) ?? []
                for agent in agents where state.begin(agent) {
                    group.addTask {
                        await self.follow(agent)
                        self.state.end(agent)
                    }
                }
                try? await Task.sleep(for: scanInterval)
            }
        }
    }

    func orchestrator() -> Orchestrator? {
        let context = ScionContext(workingDirectory: broker.grove.root, executablePath: scionPath, groveOverride: broker.grove.directory)
        return try? Orchestrator(context: context)
    }

    /// One agent, until its record no longer says this instance runs, its
    /// instance is gone, or the broker stops.
    func follow(_ agent: FollowedAgent) async {
        let store = AgentStore(grove: broker.grove)
        var follower: ActivityCache.Follower
        do {
            follower = try agent.cache.begin(handle: agent.handle)
        } catch {
            logger.warning("cannot follow agent \(agent.name): \(error)")
            return
        }
        defer { agent.cache.end() }
        logger.debug("following agent \(agent.name) (\(agent.handle)) from byte \(follower.size)")
        var failures = 0
        var nextSync = agent.syncInterval.map { Date().addingTimeInterval($0) }
        while !state.stopped && !Task.isCancelled && !Task.isShuttingDownGracefully && agent.stillRunning(store) {
            // Only while the runtime answers: a failing one gets no sync holding the agent's lock.
            if let due = nextSync, let interval = agent.syncInterval, Date() >= due, failures == 0 {
                await periodicSync(agent)
                nextSync = Date().addingTimeInterval(interval)
            }
            let wait = nextSync.map { min(FollowedAgent.pollSeconds, max(1, Int($0.timeIntervalSinceNow.rounded(.up)))) }
                ?? FollowedAgent.pollSeconds
            let asked = Date()
            do {
                let offset = follower.size
                let contents = try await Blocking.run { try agent.readEvents(offset: offset, waitSeconds: wait) }
                if let contents {
                    if contents.size < follower.size {
                        try agent.cache.restart(&follower)
                        continue
                    }
                    try agent.cache.record(&follower, appending: contents.data, asked: asked)
                } else {
                    // No events file. Answered at once: is the pod still there?
                    // (After a wait in the pod for the file to appear, it is.)
                    if Date().timeIntervalSince(asked) < Double(wait) / 2 {
                        let state = try await Blocking.run { try agent.driver.status(agent.target).state }
                        guard state == .running || state == .created else {
                            logger.info("agent \(agent.name): its instance is \(state.rawValue); no longer following it")
                            self.state.markGone(agent)
                            return
                        }
                    }
                    try agent.cache.record(&follower, appending: Data(), asked: asked)
                }
                failures = 0
                // A runtime that cannot wait answers at once: at most one read a second.
                if contents?.data.isEmpty ?? true, Date().timeIntervalSince(asked) < 1 {
                    try? await Task.sleep(for: .seconds(1))
                }
            } catch {
                failures += 1
                let pause = min(30, 0.5 * pow(2, Double(min(failures, 6))))
                logger.debug("agent \(agent.name): reading its events failed (\(failures) in a row, next try in \(pause) s): \(error)")
                try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
            }
        }
    }

    func periodicSync(_ agent: FollowedAgent) async {
        do {
            let outcome = try await Blocking.run { [self] () -> PeriodicSyncOutcome in
                guard let orchestrator = self.orchestrator() else { return .busy }
                return try orchestrator.periodicSync(agent, lockTimeout: self.lockTimeout)
            }
            logger.debug("agent \(agent.name): periodic sync: \(outcome)")
        } catch {
            logger.warning("agent \(agent.name): periodic sync failed: \(error)")
        }
    }
}

/// Which agents are followed, and which instances were found gone (not
/// followed again until their record changes).
final class FollowState: @unchecked Sendable {
    private let lock = NSLock()
    private var followed: Set<String> = []
    private var gone: [String: String] = [:]
    private var isStopped = false

    var followedCount: Int { lock.withLock { followed.count } }
    var stopped: Bool { lock.withLock { isStopped } }
    var skipping: Set<String> { lock.withLock { followed } }

    func stop() { lock.withLock { isStopped = true } }

    /// False when it is followed already, or its instance was found gone.
    func begin(_ agent: FollowedAgent) -> Bool {
        lock.withLock {
            guard !followed.contains(agent.name), gone[agent.name] != agent.handle else { return false }
            followed.insert(agent.name)
            return true
        }
    }

    func end(_ agent: FollowedAgent) { _ = lock.withLock { followed.remove(agent.name) } }
    func markGone(_ agent: FollowedAgent) { lock.withLock { gone[agent.name] = agent.handle } }
}
