import Foundation
import ScionAgentEvents
import ScionPluginKit

/// A running agent on a runtime that does not share the host's paths (a
/// pod), as the grove broker's follower sees it: its instance, its runtime
/// bound to the options its spec recorded, where its events are copied and
/// how often its branch comes home (`runtimes.<name>.sync_interval`).
public struct FollowedAgent: Sendable {
    public let name: String
    public let handle: String
    public let driver: any RuntimeDriver
    public let target: AgentTarget
    public let cache: ActivityCache
    /// Seconds between periodic `sync from`s; nil when off (0) or the runtime cannot sync.
    public let syncInterval: TimeInterval?

    /// How long one long poll of the events waits (under ActivityCache.freshness).
    public static let pollSeconds = 45

    /// Whether the record still says this instance runs.
    public func stillRunning(_ store: AgentStore) -> Bool {
        guard let record = try? store.load(name) else { return false }
        return record.phase == .running && record.handle == handle
    }

    /// The agent's events past `offset`, waiting up to `waitSeconds` for new ones.
    public func readEvents(offset: UInt64, waitSeconds: Int) throws -> AgentFileContents? {
        try driver.readAgentFile(target, path: AgentEvents.relativePath, offset: offset, waitSeconds: waitSeconds)
    }
}

/// How a periodic sync went.
public enum PeriodicSyncOutcome: Sendable, Equatable {
    case synced(commit: String)
    /// A command holds the agent (sync, stop, delete...): next time.
    case busy
    /// The agent stopped, runs another instance, or its instance is gone.
    case gone
}

extension Orchestrator {
    /// The settings key of the period (a duration: "5m", "30s"; 0 turns it off).
    public static let syncIntervalKey = "sync_interval"
    /// Without the key: five minutes.
    public static let defaultSyncInterval: TimeInterval = 300

    /// Whether any running agent of the grove runs on a runtime that does
    /// not share the host's paths (its launch made its `remote` folder: no
    /// plugin is loaded to know). Such agents need the grove broker, which follows them.
    func hasRemoteAgents(_ records: [AgentRecord]) -> Bool {
        records.contains { $0.phase == .running && $0.handle != nil && !runtimeSharesHostPaths($0) }
    }

    /// Starts the grove broker (its follower) when a running remote agent
    /// needs it and it does not run: after `start`/`resume`, and from `list`
    /// if it was killed. It stops by itself once no agent needs it.
    func ensureFollower(_ records: [AgentRecord]) {
        guard hasRemoteAgents(records), !broker.isRunning else { return }
        do {
            try broker.ensureRunning(scionPath: context.executablePath, environment: context.environment)
        } catch {
            logger.warning("cannot start the grove broker, which follows remote agents: \(error)")
        }
    }

    private func runtimeSharesHostPaths(_ record: AgentRecord) -> Bool {
        !ActivityCache(store: store, name: record.name).isRemote
    }

    /// The running agents to follow, except those in `skipping` (already followed).
    public func followedAgents(skipping: Set<String> = []) -> [FollowedAgent] {
        store.all().compactMap { entry -> FollowedAgent? in
            guard let record = entry.record, !skipping.contains(record.name), record.phase == .running,
                  let handle = record.handle, !runtimeSharesHostPaths(record),
                  let spec = try? spec(for: record),
                  let driver = try? runtime(for: spec, wantedBy: "agent \(record.name)"),
                  let capabilities = try? driver.capabilities(), !capabilities.sharesHostPaths
            else { return nil }
            let options = spec.runtimeOptions(settings)
            var interval: TimeInterval? = Self.defaultSyncInterval
            if let text = options[Self.syncIntervalKey]?.stringValue {
                interval = (try? Self.duration(text)).flatMap { $0 > 0 ? $0 : nil }
            }
            return FollowedAgent(
                name: record.name, handle: handle, driver: driver, target: target(record, handle: handle),
                cache: ActivityCache(store: store, name: record.name), syncInterval: capabilities.sync ? interval : nil)
        }
    }

    /// Brings the agent's commits home, as `scion sync from` does, unless a
    /// command holds the agent for longer than `lockTimeout` seconds, or the
    /// agent no longer runs `handle`.
    public func periodicSync(_ agent: FollowedAgent, lockTimeout: Double) throws -> PeriodicSyncOutcome {
        let lock: FileLock
        do {
            lock = try FileLock.acquire(store.lockPath(agent.name), create: false, timeout: lockTimeout, subject: "agent \(agent.name)")
        } catch let error as ScionError where error.code == .failedPrecondition {
            return .busy
        } catch let error as ScionError where error.code == .notFound {
            return .gone
        }
        return try withExtendedLifetime(lock) {
            guard lock.isStillAtPath, let record = try? store.load(agent.name), record.phase == .running,
                  record.handle == agent.handle, (try? agent.driver.status(agent.target).state) == .running
            else { return .gone }
            do {
                try agent.driver.sync(agent.target, direction: .from, workdir: record.worktree, progress: nil)
            } catch {
                throw ScionError.wrap(error, "cannot sync agent \(agent.name) from its pod")
            }
            let commit = recordSync(record, periodic: true) ?? ""
            return .synced(commit: commit)
        }
    }

    /// Notes the commit a `sync from` brought to the agent's branch (its
    /// worktree's HEAD) for `list` to show once the pod is gone.
    @discardableResult
    func recordSync(_ record: AgentRecord, periodic: Bool) -> String? {
        guard let output = try? Subprocess.run(["git", "-C", record.worktree, "rev-parse", "HEAD"]), output.status == 0 else { return nil }
        let commit = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try? ActivityCache(store: store, name: record.name).recordSync(commit: commit, periodic: periodic)
        return commit
    }

    /// What `list` says of an agent whose pod went on its own.
    func lastSyncNote(_ record: AgentRecord) -> String? {
        guard !runtimeSharesHostPaths(record), let last = ActivityCache(store: store, name: record.name).lastSync() else { return nil }
        return "its branch holds what was synced last (commit \(last.commit.prefix(12)) at \(ISO8601DateFormatter().string(from: last.at)))"
    }
}
