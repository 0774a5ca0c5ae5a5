import Foundation
import Logging
import NIOCore
import NIOPosix
import ScionCore
import ServiceLifecycle

/// Watches the grove's agents (every `interval`): opens a listener on the
/// socket of each running container agent, closes the listeners of agents
/// that stopped or went, tells parents about their children (the same
/// notices a host `scion list` sends), and returns once no agent has
/// needed it for `idleLimit` scans. Every file and runtime call runs on a
/// thread of its own (Blocking), never on the event loop or the
/// cooperative pool.
final class BrokerService: Service, Sendable {
    let broker: GroveBroker
    let scionPath: String
    let logger: Logger
    let interval: Duration = .milliseconds(500)
    let idleLimit = 10
    private let listeners = Listeners()
    private let shared = SharedRuns<[ByteBuffer]>()
    /// Issue 10: follows the grove's remote agents (RemoteFollower.swift).
    let follower: RemoteFollower

    init(broker: GroveBroker, scionPath: String, logger: Logger) {
        self.broker = broker
        self.scionPath = scionPath
        self.logger = logger
        follower = RemoteFollower(broker: broker, scionPath: scionPath, logger: logger)
    }

    func run() async throws {
        // What a killed broker or a delete it missed left behind.
        let swept = try await Blocking.run { [broker] in broker.sweepSocketDirectories() }
        if !swept.isEmpty { logger.info("removed the socket folders of agents that are gone: \(swept.sorted().joined(separator: ", "))") }
        try await withThrowingDiscardingTaskGroup { group in
            var idleScans = 0
            var scans = 0
            group.addTask { await self.follower.run() }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let agents = try await Blocking.run { [broker] in Self.servedAgents(broker) }
                for agent in agents where !self.listeners.contains(agent.name) {
                    self.listeners.reserve(agent.name)
                    group.addTask { await self.serve(agent) }
                }
                for name in self.listeners.names where !agents.contains(where: { $0.name == name }) {
                    self.listeners.close(name)
                }
                scans += 1
                if scans % 4 == 0, agents.contains(where: { $0.parent != nil }) {
                    try await Blocking.run { [self] in self.notifyParents() }
                }
                let busy = !agents.isEmpty || self.listeners.activeConnections > 0 || self.follower.isBusy
                idleScans = busy ? 0 : idleScans + 1
                if idleScans >= idleLimit { break }
                try? await Task.sleep(for: interval)
            }
            self.listeners.closeAll()
            self.follower.stop()
        }
    }

    struct ServedAgent: Sendable {
        var name: String
        var parent: String?
        var worktree: String
    }

    /// Running (or starting) agents with a broker socket folder; the
    /// folders of agents that are gone are removed.
    static func servedAgents(_ broker: GroveBroker) -> [ServedAgent] {
        let store = AgentStore(grove: broker.grove)
        let entries = store.all()
        return entries.compactMap { entry in
            guard let record = entry.record, [.running, .starting].contains(record.phase),
                  broker.hasSocketDirectory(for: record.name) else { return nil }
            return ServedAgent(name: record.name, parent: record.parent, worktree: record.worktree)
        }
    }

    /// Brings the activity of every child up to date, which sends the
    /// parent its notice once per change (Orchestrator.list).
    func notifyParents() {
        do {
            let context = ScionContext(
                workingDirectory: broker.grove.root, executablePath: scionPath, groveOverride: broker.grove.directory)
            _ = try Orchestrator(context: context).list()
        } catch {
            logger.debug("cannot look at the grove's agents: \(error)")
        }
    }

    /// One agent's listener: accepts connections until it is closed.
    func serve(_ agent: ServedAgent) async {
        let path = broker.socketPath(for: agent.name)
        do {
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            chmod(path, 0o600)
            // A non-root agent user (run_as_user) owns its socket's folder: it must be able to connect.
            var folder = stat()
            if stat((path as NSString).deletingLastPathComponent, &folder) == 0, folder.st_uid != getuid() {
                chown(path, folder.st_uid, folder.st_gid)
            }
            guard listeners.attach(agent.name, server.channel) else {
                try? await server.channel.close()
                return
            }
            logger.debug("serving agent \(agent.name) on \(path)")
            try await withThrowingDiscardingTaskGroup { connections in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask {
                            self.listeners.connectionStarted()
                            defer { self.listeners.connectionEnded() }
                            await BrokerConnection(
                                agent: agent, broker: self.broker, scionPath: self.scionPath, logger: self.logger, shared: self.shared)
                                .handle(connection)
                        }
                    }
                }
            }
        } catch {
            logger.warning("cannot serve agent \(agent.name) on \(path): \(error)")
        }
        listeners.remove(agent.name)
    }
}

/// The open listeners, by agent, and how many requests are running.
final class Listeners: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [String: Channel?] = [:]
    private var connections = 0

    func contains(_ name: String) -> Bool { lock.withLock { channels[name] != nil } }
    var names: [String] { lock.withLock { Array(channels.keys) } }
    var activeConnections: Int { lock.withLock { connections } }

    func reserve(_ name: String) { lock.withLock { channels[name] = .some(nil) } }

    /// False when the listener was closed before it was bound.
    func attach(_ name: String, _ channel: Channel) -> Bool {
        lock.withLock {
            guard channels[name] != nil else { return false }
            channels[name] = channel
            return true
        }
    }

    func remove(_ name: String) { _ = lock.withLock { channels.removeValue(forKey: name) } }

    func close(_ name: String) {
        let channel = lock.withLock { channels.removeValue(forKey: name) }
        if let channel = channel ?? nil { channel.close(promise: nil) }
    }

    func closeAll() { names.forEach(close) }

    func connectionStarted() { lock.withLock { connections += 1 } }
    func connectionEnded() { lock.withLock { connections -= 1 } }
}
