import Foundation
import Logging
import NIOCore
import ScionAgentEvents
import ScionCore
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// One request of a container agent: its arguments, run with the host's
/// scion as that agent (SCION_AGENT from the socket it came on, never from
/// the request), in the agent's worktree on the host; output and exit
/// status sent back as they come. A client that goes away stops the
/// command (its process group gets SIGTERM).
struct BrokerConnection: Sendable {
    let agent: BrokerService.ServedAgent
    let broker: GroveBroker
    let scionPath: String
    let logger: Logger

    func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                var request = ByteBuffer()
                var arguments: [String]?
                while arguments == nil {
                    guard var chunk = try await iterator.next() else { return }
                    request.writeBuffer(&chunk)
                    let bytes = request.readableBytesView
                    guard let length = BrokerWire.payloadLength(bytes) else { continue }
                    guard bytes.first == BrokerWire.request, length <= BrokerWire.maxRequest else {
                        try await outbound.write(Self.frame(BrokerWire.standardError, Array("scion-broker: not a request\n".utf8)))
                        try await outbound.write(Self.frame(BrokerWire.exitStatus, BrokerWire.exitPayload(2)))
                        return
                    }
                    if bytes.count >= BrokerWire.headerSize + length {
                        arguments = BrokerWire.decodeArguments(bytes.dropFirst(BrokerWire.headerSize).prefix(length))
                    }
                }
                try await run(arguments ?? [], iterator: &iterator, outbound: outbound)
            }
        } catch {
            logger.debug("agent \(agent.name): connection ended: \(error)")
        }
    }

    private static func frame(_ type: UInt8, _ payload: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: BrokerWire.frame(type, payload))
    }

    /// The environment of the command: the broker's (the user's, without
    /// any agent's variables) and the agent's identity.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[AgentAuthority.agentVariable] = agent.name
        environment[AgentAuthority.groveVariable] = broker.grove.directory
        environment[AgentAuthority.brokeredVariable] = "1"
        return environment
    }

    private func run(
        _ arguments: [String], iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        logger.debug("agent \(agent.name): scion \(arguments.first ?? "")")
        let directory = FileManager.default.fileExists(atPath: agent.worktree) ? agent.worktree : broker.grove.root
        let process: (pid: pid_t, stdout: Int32, stderr: Int32)
        do {
            process = try Subprocess.startPiped([scionPath] + arguments, environment: environment, workingDirectory: directory)
        } catch {
            try await outbound.write(Self.frame(BrokerWire.standardError, Array("scion-broker: \(error)\n".utf8)))
            try await outbound.write(Self.frame(BrokerWire.exitStatus, BrokerWire.exitPayload(1)))
            return
        }
        let finished = Finished()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Both streams to the end, then the exit status, last.
                try await withThrowingTaskGroup(of: Void.self) { streams in
                    streams.addTask { try await Self.pump(process.stdout, BrokerWire.standardOutput, outbound) }
                    streams.addTask { try await Self.pump(process.stderr, BrokerWire.standardError, outbound) }
                    try await streams.waitForAll()
                }
                let status = try await Blocking.run { Self.waitForExit(process.pid) }
                finished.set()
                try await outbound.write(Self.frame(BrokerWire.exitStatus, BrokerWire.exitPayload(status)))
                outbound.finish()
            }
            // The client closes its end when it has the status, or when it goes away.
            while try await iterator.next() != nil {}
            if !finished.value {
                logger.debug("agent \(agent.name): client went away; stopping scion \(arguments.first ?? "")")
                kill(-process.pid, SIGTERM)
            }
            try await group.waitForAll()
        }
    }

    /// Sends what `descriptor` yields, chunk by chunk, each read on a thread.
    private static func pump(_ descriptor: Int32, _ type: UInt8, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        defer { close(descriptor) }
        while true {
            let chunk = try await Blocking.run { () -> [UInt8] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    return count > 0 ? Array(buffer[0..<count]) : []
                }
            }
            if chunk.isEmpty { return }
            try? await outbound.write(frame(type, chunk))
        }
    }

    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    final class Finished: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func set() { lock.withLock { done = true } }
        var value: Bool { lock.withLock { done } }
    }
}
