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
    let shared: SharedRuns<[ByteBuffer]>

    func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                var request = ByteBuffer()
                guard let payload = try await Self.frame(
                    BrokerWire.request, limit: BrokerWire.maxRequest, from: &request, iterator: &iterator, outbound: outbound)
                else { return }
                let arguments = BrokerWire.decodeArguments(payload)
                var input: [UInt8]?
                if BrokerWire.readsStandardInput(arguments) {
                    input = try await Self.frame(
                        BrokerWire.standardInput, limit: BrokerWire.maxStandardInput, from: &request, iterator: &iterator,
                        outbound: outbound)
                    if input == nil { return }
                }
                try await run(arguments, input: input, iterator: &iterator, outbound: outbound)
            }
        } catch {
            logger.debug("agent \(agent.name): connection ended: \(error)")
        }
    }

    private static func frame(_ type: UInt8, _ payload: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: BrokerWire.frame(type, payload))
    }

    /// The payload of the next frame, which must be of `type` and at most
    /// `limit` bytes; nil (the client told, exit 2) for anything else or
    /// when the client went away first. `buffer` keeps what follows it.
    private static func frame(
        _ type: UInt8, limit: Int, from buffer: inout ByteBuffer,
        iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> [UInt8]? {
        while true {
            let bytes = buffer.readableBytesView
            if let length = BrokerWire.payloadLength(bytes) {
                guard bytes.first == type, length <= limit else {
                    let what = type == BrokerWire.request ? "a request" : "the standard input the request reads"
                    try await outbound.write(frame(BrokerWire.standardError, Array("scion-broker: expected \(what)\n".utf8)))
                    try await outbound.write(frame(BrokerWire.exitStatus, BrokerWire.exitPayload(2)))
                    return nil
                }
                if bytes.count >= BrokerWire.headerSize + length {
                    buffer.moveReaderIndex(forwardBy: BrokerWire.headerSize)
                    return buffer.readBytes(length: length)
                }
            }
            guard var chunk = try await iterator.next() else { return nil }
            buffer.writeBuffer(&chunk)
        }
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
        _ arguments: [String], input: [UInt8]?, iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws {
        logger.debug("agent \(agent.name): scion \(arguments.first ?? "")")
        if input == nil, let key = SharedRuns<[ByteBuffer]>.key(arguments) {
            // Read-only and the same for every agent of the grove: one run answers all who ask meanwhile.
            let frames = await shared.run(key) {
                let sink = Frames()
                try? await self.execute(arguments, input: nil, send: { sink.append($0) }, started: { _ in })
                return sink.all
            }
            for frame in frames { try await outbound.write(frame) }
            outbound.finish()
            while try await iterator.next() != nil {}
            return
        }
        shared.forgetAnswers()
        defer { shared.forgetAnswers() }
        let running = Running()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.execute(arguments, input: input, send: { try await outbound.write($0) }, started: running.started)
                running.finish()
                outbound.finish()
            }
            // The client closes its end when it has the status, or when it goes away.
            while try await iterator.next() != nil {}
            if let pid = running.pid {
                logger.debug("agent \(agent.name): client went away; stopping scion \(arguments.first ?? "")")
                kill(-pid, SIGTERM)
            }
            try await group.waitForAll()
        }
    }

    /// Runs the host's scion as the agent, in its worktree: each frame
    /// (output as it comes, the exit status last) goes to `send`.
    private func execute(
        _ arguments: [String], input: [UInt8]?, send: @escaping @Sendable (ByteBuffer) async throws -> Void,
        started: @Sendable (pid_t) -> Void
    ) async throws {
        let directory = FileManager.default.fileExists(atPath: agent.worktree) ? agent.worktree : broker.grove.root
        let process: (pid: pid_t, stdout: Int32, stderr: Int32)
        var stdinPipe: (read: Int32, write: Int32)?
        do {
            if input != nil { stdinPipe = try Subprocess.makePipe() }
            defer { if let stdinPipe { close(stdinPipe.read) } }
            process = try Subprocess.startPiped(
                [scionPath] + arguments, environment: environment, workingDirectory: directory, standardInput: stdinPipe?.read)
        } catch {
            if let stdinPipe { close(stdinPipe.write) }
            try await send(Self.frame(BrokerWire.standardError, Array("scion-broker: \(error)\n".utf8)))
            try await send(Self.frame(BrokerWire.exitStatus, BrokerWire.exitPayload(1)))
            return
        }
        started(process.pid)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let input, let descriptor = stdinPipe?.write {
                // All of it, then end of file; a command that stops reading early ends the write (EPIPE).
                group.addTask { try await Blocking.run { _ = BrokerWire.writeAll(descriptor, input); close(descriptor) } }
            }
            // Both streams to the end, then the exit status, last.
            group.addTask { try await Self.pump(process.stdout, BrokerWire.standardOutput, send) }
            group.addTask { try await Self.pump(process.stderr, BrokerWire.standardError, send) }
            try await group.waitForAll()
        }
        let status = try await Blocking.run { Self.waitForExit(process.pid) }
        try await send(Self.frame(BrokerWire.exitStatus, BrokerWire.exitPayload(status)))
    }

    /// Sends what `descriptor` yields, chunk by chunk, each read on a thread.
    private static func pump(_ descriptor: Int32, _ type: UInt8, _ send: @Sendable (ByteBuffer) async throws -> Void) async throws {
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
            try? await send(frame(type, chunk))
        }
    }

    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }

    /// The command's process while it runs (nil before and after).
    final class Running: @unchecked Sendable {
        private let lock = NSLock()
        private var process: pid_t?
        private var done = false
        func started(_ pid: pid_t) { lock.withLock { process = pid } }
        func finish() { lock.withLock { done = true } }
        var pid: pid_t? { lock.withLock { done ? nil : process } }
    }

    /// The frames of a shared run, kept to hand to everyone who asked.
    final class Frames: @unchecked Sendable {
        private let lock = NSLock()
        private var frames: [ByteBuffer] = []
        func append(_ frame: ByteBuffer) { lock.withLock { frames.append(frame) } }
        var all: [ByteBuffer] { lock.withLock { frames } }
    }
}
