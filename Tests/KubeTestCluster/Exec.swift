import Foundation
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// What an exec or attach request asks for.
struct ExecRequest: Sendable {
    let container: String
    let dockerName: String
    let command: [String]
    let stdin: Bool
    let stdout: Bool
    let stderr: Bool
    let tty: Bool
}

extension Cluster {
    static let execProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    /// Checks an exec target: the pod exists and its container runs.
    func execTarget(_ ns: String, _ name: String, _ target: Target) async throws -> ExecRequest {
        guard let pod = await store.get("pods", ns, name) else { throw APIError.notFound("pods", name) }
        let container = try container(of: pod, target.value("container"))
        let phase = pod.at("status.phase")?.string ?? "Pending"
        let running = (pod.at("status.containerStatuses")?.array ?? []).contains {
            $0["name"]?.string == container && $0.at("state.running") != nil
        }
        guard phase == "Running", running else {
            if phase == "Succeeded" || phase == "Failed" {
                throw APIError.badRequest("cannot exec into a container in a completed pod; current phase is \(phase)")
            }
            throw APIError.badRequest("unable to upgrade connection: container not found (\"\(container)\")")
        }
        let isAttach = target.path.hasSuffix("/attach")
        let command = target.values("command")
        if !isAttach, command.isEmpty { throw APIError.badRequest("you must specify at least 1 command") }
        return ExecRequest(
            container: container, dockerName: kubelet.dockerName(pod, container),
            command: isAttach ? [] : command, stdin: target.flag("stdin"), stdout: target.flag("stdout") || !target.query.contains { $0.0 == "stdout" },
            stderr: target.flag("stderr"), tty: target.flag("tty"))
    }

    /// The error-channel status for an exit code.
    static func exitStatus(_ code: Int32, command: [String]) -> JSON {
        if code == 0 { return ["metadata": [:], "status": "Success"] }
        return [
            "metadata": [:], "status": "Failure",
            "message": .string("command terminated with non-zero exit code: error executing command [\(command.joined(separator: " "))], exit code \(code)"),
            "reason": "NonZeroExitCode",
            "details": ["causes": [["reason": "ExitCode", "message": .string(String(code))]]],
        ]
    }

    /// Runs `docker exec` for a WebSocket session: stdin/stdout/stderr/error/resize channels.
    func runExec(_ request: ExecRequest, protocolName: String, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let v5 = protocolName == "v5.channel.k8s.io"
        var argv = ["docker", request.command.isEmpty ? "attach" : "exec"]
        if request.command.isEmpty {
            argv += ["--sig-proxy=false", request.dockerName]
        } else {
            if request.stdin { argv.append("-i") }
            if request.tty { argv.append("-t") }
            argv.append(request.dockerName)
            argv += request.command
        }
        let (events, sink) = AsyncStream<(UInt8, [UInt8])>.makeStream()
        let stdinFD: Int32
        let process = ProcessBox()
        var readers: [AsyncStream<[UInt8]>] = []
        var terminal: PseudoTerminal? = nil
        do {
            if request.tty {
                // Started once the client has sent its size (or after a second), so the
                // command sees the right size from its start, as on a kubelet.
                let pty = try PseudoTerminal()
                terminal = pty
                stdinFD = fcntl(pty.master, F_DUPFD_CLOEXEC, 0)
                readers.append(Subprocess.chunks(of: pty.master))
            } else {
                let input = try Subprocess.pipe(), output = try Subprocess.pipe(), errors = try Subprocess.pipe()
                defer { close(input.read); close(output.write); close(errors.write) }
                process.set(try Subprocess.spawn(argv, stdio: .descriptors(stdin: input.read, stdout: output.write, stderr: errors.write)))
                stdinFD = input.write
                if !request.stdin { close(input.write) }
                readers.append(Subprocess.chunks(of: output.read))
                readers.append(Subprocess.chunks(of: errors.read))
            }
        } catch {
            let status: JSON = ["metadata": [:], "status": "Failure", "message": .string("\(error)"), "reason": "InternalError", "code": 500]
            try? await outbound.write(.binary(ByteBuffer(bytes: [3] + Array(status.serialized()))))
            try? await outbound.close(.normalClosure, reason: nil)
            return
        }
        let slavePath = terminal?.slavePath
        let resizeFD = terminal == nil ? -1 : stdinFD
        let (sized, sizedSink) = AsyncStream<Void>.makeStream()
        let stdinQueue = DispatchQueue(label: "exec-stdin")
        let stdinOpen = StdinState(fd: request.stdin || request.tty ? stdinFD : -1, queue: stdinQueue)
        let sessionID = UUID()
        faults.registerExec(sessionID) {
            process.signal(SIGKILL)
            Task { try? await outbound.close(.goingAway, reason: "connection dropped by fault injection") }
        }
        defer { faults.unregisterExec(sessionID) }

        let readerStreams = readers
        let execArgv = argv
        let wantStdout = request.stdout, wantStderr = request.stderr || request.tty
        let command = request.command
        let tty = request.tty
        await withTaskGroup(of: Void.self) { group in
            // Output: stdout (or the terminal), stderr, then the exit status on the error channel.
            group.addTask {
                if let slavePath {
                    let timer = Task { try? await Task.sleep(for: .seconds(5)); sizedSink.finish() }
                    for await _ in sized { break }
                    timer.cancel()
                    do {
                        process.set(try Subprocess.spawn(execArgv, stdio: .terminal(path: slavePath)))
                    } catch {
                        stdinOpen.close()
                        sink.yield((3, Array(JSON.object(["metadata": [:], "status": "Failure", "message": .string("\(error)"), "reason": "InternalError", "code": 500]).serialized())))
                        sink.finish()
                        return
                    }
                }
                await withTaskGroup(of: Void.self) { readersGroup in
                    for (index, reader) in readerStreams.enumerated() {
                        let channel: UInt8 = index == 0 ? 1 : 2
                        let wanted = channel == 1 ? wantStdout : wantStderr
                        readersGroup.addTask {
                            for await chunk in reader where wanted { sink.yield((channel, chunk)) }
                        }
                    }
                }
                let code = await Subprocess.wait(process.pid)
                process.markExited()
                stdinOpen.close()
                sink.yield((3, Array(Cluster.exitStatus(code, command: command).serialized())))
                sink.finish()
            }
            // The one writer of the WebSocket.
            group.addTask {
                for await (channel, bytes) in events {
                    var buffer = ByteBuffer()
                    buffer.writeInteger(channel)
                    buffer.writeBytes(bytes)
                    do { try await outbound.write(.binary(buffer)) } catch { process.signal(SIGKILL); break }
                }
                try? await outbound.close(.normalClosure, reason: nil)
            }
            // Input: stdin, v5 close of stdin, resize.
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        guard case .binary(var buffer) = message, let channel: UInt8 = buffer.readInteger() else { continue }
                        let payload = buffer.readBytes(length: buffer.readableBytes) ?? []
                        switch channel {
                        case 0: stdinOpen.write(payload)
                        case 4:
                            if resizeFD >= 0, let size = try? JSON.parse(Data(payload)),
                               let w = size["Width"]?.int, let h = size["Height"]?.int {
                                var ws = winsize(ws_row: UInt16(clamping: h), ws_col: UInt16(clamping: w), ws_xpixel: 0, ws_ypixel: 0)
                                _ = ioctl(resizeFD, UInt(TIOCSWINSZ), &ws)
                                sizedSink.yield()
                                process.signal(SIGWINCH)
                            }
                        case 255 where v5:
                            if payload.first == 0 { stdinOpen.close() }
                        default: break
                        }
                    }
                } catch {}
                // The client went away before the command ended.
                process.signal(tty ? SIGHUP : SIGKILL)
                sizedSink.finish()
            }
            await group.next()
            await group.next()
            group.cancelAll()
        }
        if resizeFD >= 0 { stdinQueue.sync {} }
    }
}

/// The pid of a session's docker CLI, once started (0 before).
final class ProcessBox: Sendable {
    private let value = Mutex<pid_t>(0)
    private let exited = Mutex<Bool>(false)

    func set(_ pid: pid_t) { value.withLock { $0 = pid } }
    var pid: pid_t { value.withLock { $0 } }

    /// Signals the process if it was started and has not been waited for.
    func signal(_ signal: Int32) {
        let pid = self.pid
        if pid > 0, !exited.withLock({ $0 }) { kill(pid, signal) }
    }

    func markExited() { exited.withLock { $0 = true } }
}

/// The command's stdin, written and closed in order on one serial queue.
final class StdinState: @unchecked Sendable {
    private var fd: Int32
    private let queue: DispatchQueue

    init(fd: Int32, queue: DispatchQueue) {
        self.fd = fd
        self.queue = queue
    }

    func write(_ bytes: [UInt8]) {
        queue.async { if self.fd >= 0 { _ = Subprocess.writeAll(self.fd, bytes) } }
    }

    func close() {
        queue.async {
            if self.fd >= 0 { Glibc.close(self.fd); self.fd = -1 }
        }
    }
}
