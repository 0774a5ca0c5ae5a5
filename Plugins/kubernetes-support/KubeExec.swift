import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ScionPluginKit
import WSClient

/// Exec and attach over WebSocket: the remotecommand protocol, version
/// `v5.channel.k8s.io` first (it can say "stdin ended"), `v4.channel.k8s.io`
/// for older servers. Binary messages, first byte the channel: 0 stdin,
/// 1 stdout, 2 stderr, 3 error (a Status with the exit code), 4 resize;
/// v5's `[255, channel]` closes a channel.
public enum RemoteCommand {
    public static let protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    public static let stdinChannel: UInt8 = 0, stdoutChannel: UInt8 = 1, stderrChannel: UInt8 = 2
    public static let errorChannel: UInt8 = 3, resizeChannel: UInt8 = 4, closeSignal: UInt8 = 255
    /// Bytes of stdin per message.
    static let chunkSize = 32 * 1024

    /// The exit code in an error-channel Status: Success is 0,
    /// NonZeroExitCode carries it in details.causes; anything else is a
    /// failure to run the command at all (nil, with its message).
    public static func exitCode(fromStatus data: Data) -> (code: Int?, message: String) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return (nil, String(decoding: data, as: UTF8.self))
        }
        let message = object["message"] as? String ?? ""
        if object["status"] as? String == "Success" { return (0, message) }
        if object["reason"] as? String == "NonZeroExitCode",
           let causes = (object["details"] as? [String: Any])?["causes"] as? [[String: Any]],
           // StatusCause's type is the JSON key "reason" (older docs say "type").
           let cause = causes.first(where: { ($0["reason"] ?? $0["type"]) as? String == "ExitCode" }),
           let text = cause["message"] as? String, let code = Int(text) {
            return (code, message)
        }
        return (nil, message)
    }
}

/// What one exec produced.
public struct ExecOutcome: Sendable {
    public var exitCode: Int
    public var stdout: Data
    public var stderr: Data
}

/// Input of a streaming session: stdin bytes or a terminal size.
public enum StreamInput: Sendable {
    case stdin(Data)
    case endOfInput
    case resize(width: Int, height: Int)
}

private final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension KubeClient {
    /// Runs `argv` in `container` of `pod` and collects its output. `stdin`
    /// is sent whole and then closed (v5) — callers that must also work on
    /// v4 servers make the command read exactly the bytes it is given.
    public func exec(
        pod: String, container: String, argv: [String], stdin: Data? = nil, timeoutSeconds: Double = 300,
        isCancelled: (@Sendable () -> Bool)? = nil, retries: Int = 0
    ) throws -> ExecOutcome {
        // A connection dropped before the exit status (a fresh pod, a busy
        // node, a restarting server) is tried again when the command may
        // run twice (`retries`).
        var attempt = 0
        while true {
            do {
                return try execOnce(pod: pod, container: container, argv: argv, stdin: stdin, timeoutSeconds: timeoutSeconds, isCancelled: isCancelled)
            } catch let error as PluginError where error.code == .unavailable && error.details["dropped"] != nil && attempt < retries {
                attempt += 1
                PluginLog.debug("kubernetes: exec in pod \(pod) was dropped; trying again (\(attempt) of \(retries))")
                Thread.sleep(forTimeInterval: 0.3 * Double(attempt))
            }
        }
    }

    func execOnce(
        pod: String, container: String, argv: [String], stdin: Data?, timeoutSeconds: Double,
        isCancelled: (@Sendable () -> Bool)?
    ) throws -> ExecOutcome {
        let stdout = Box(Data()), stderr = Box(Data())
        let lock = NSLock()
        let input: AsyncStream<StreamInput>? = stdin.map { data in
            AsyncStream { continuation in
                continuation.yield(.stdin(data))
                continuation.yield(.endOfInput)
                continuation.finish()
            }
        }
        let code = try Self.blocking(timeoutSeconds: timeoutSeconds, isCancelled: isCancelled) {
            try await self.stream(
                pod: pod, container: container, argv: argv, tty: false, input: input,
                output: { channel, data in
                    lock.lock()
                    defer { lock.unlock() }
                    if channel == RemoteCommand.stderrChannel { stderr.value.append(data) } else { stdout.value.append(data) }
                })
        }
        return ExecOutcome(exitCode: code, stdout: stdout.value, stderr: stderr.value)
    }

    /// A streaming exec (`argv` non-empty) or attach (`argv` empty) session;
    /// returns the exit code. `output` gets stdout/stderr bytes as they come.
    public func stream(
        pod: String, container: String, argv: [String], tty: Bool, input: AsyncStream<StreamInput>?,
        output: @escaping @Sendable (UInt8, Data) -> Void
    ) async throws -> Int {
        var query: [(String, String)] = argv.map { ("command", $0) }
        query += [("container", container), ("stdout", "true")]
        if input != nil { query.append(("stdin", "true")) }
        query.append(tty ? ("tty", "true") : ("stderr", "true"))
        let path = podPath(pod) + (argv.isEmpty ? "/attach" : "/exec") + Self.queryString(query)
        let what = argv.isEmpty ? "attach to pod \(pod)" : "exec in pod \(pod)"
        var lastFailure: Error?
        for version in RemoteCommand.protocols {
            do {
                return try await session(path: path, version: version, tty: tty, input: input, output: output)
            } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                lastFailure = error
                continue
            }
        }
        // Not upgraded: ask the same URL plainly to learn why (403, 404...).
        let response = try request("GET", path.components(separatedBy: "?")[0], query: query)
        if !(200..<300).contains(response.status) && response.status != 400 {
            throw error(response, doing: what)
        }
        throw PluginError(
            .unavailable,
            "cannot \(what): the API server of \(access.summary) refused the WebSocket upgrade (\(lastFailure.map { "\($0)" } ?? "no answer")) for \(RemoteCommand.protocols.joined(separator: " and "))")
    }

    private func session(
        path: String, version: String, tty: Bool, input: AsyncStream<StreamInput>?, output: @escaping @Sendable (UInt8, Data) -> Void
    ) async throws -> Int {
        let credential = try credentials.credential()
        var headers = HTTPFields()
        headers[HTTPField.Name("Sec-WebSocket-Protocol")!] = version
        if let token = credential.bearerToken { headers[.authorization] = "Bearer \(token)" }
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 24, additionalHeaders: headers, // Interactive sessions ping every 5 s (as kubectl); a command's own
            // stream does not: a busy server that answers a ping late would
            // otherwise have the stream closed before its exit status.
            autoPing: tty ? .enabled(timePeriod: .seconds(5)) : .disabled,
            sniHostname: access.tlsServerName ?? (serverIsIPAddress ? Self.ipServerSNIName : nil))
        let url = access.server.replacingOccurrences(of: "https://", with: "wss://")
            .replacingOccurrences(of: "http://", with: "ws://") + path
        let status = Box<Data?>(nil)
        let v5 = version.hasPrefix("v5")
        try await WebSocketClient.connect(
            url: url, configuration: configuration, tlsConfiguration: try tlsConfiguration(credential),
            logger: Logger(label: "scion.kubernetes.exec")
        ) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let input {
                    group.addTask {
                        for await item in input {
                            switch item {
                            case .stdin(let data):
                                var offset = 0
                                while offset < data.count {
                                    let end = min(data.count, offset + RemoteCommand.chunkSize)
                                    var buffer = ByteBuffer()
                                    buffer.writeInteger(RemoteCommand.stdinChannel)
                                    buffer.writeBytes(data[data.startIndex + offset..<data.startIndex + end])
                                    try await outbound.write(.binary(buffer))
                                    offset = end
                                }
                            case .endOfInput:
                                if v5 { try await outbound.write(.binary(ByteBuffer(bytes: [RemoteCommand.closeSignal, RemoteCommand.stdinChannel]))) }
                            case .resize(let width, let height):
                                var buffer = ByteBuffer()
                                buffer.writeInteger(RemoteCommand.resizeChannel)
                                buffer.writeString("{\"Width\":\(width),\"Height\":\(height)}")
                                try await outbound.write(.binary(buffer))
                            }
                        }
                    }
                }
                for try await message in inbound.messages(maxSize: 1 << 26) {
                    guard case .binary(var buffer) = message, let channel = buffer.readInteger(as: UInt8.self) else { continue }
                    let data = Data(buffer.readableBytesView)
                    switch channel {
                    case RemoteCommand.stdoutChannel, RemoteCommand.stderrChannel: output(channel, data)
                    case RemoteCommand.errorChannel: status.value = (status.value ?? Data()) + data
                    default: break
                    }
                }
                group.cancelAll()
            }
        }
        guard let data = status.value else {
            // v4/v5 servers always send a status; a connection that ends without one was cut.
            throw PluginError(
                .unavailable, "the exec stream to \(access.summary) ended without an exit status (the connection was dropped)",
                details: ["dropped": .bool(true)])
        }
        let (code, message) = RemoteCommand.exitCode(fromStatus: data)
        guard let code else {
            throw PluginError(.failedPrecondition, "the command could not run in the pod (\(access.summary)): \(message)")
        }
        return code
    }

    /// The SNI name sent to a server given by IP address (an IP cannot be one).
    static let ipServerSNIName = "kubernetes.default.svc"

    var serverIsIPAddress: Bool {
        guard let host = URLComponents(string: access.server)?.host else { return false }
        return host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    func tlsConfiguration(_ credential: RequestCredential) throws -> TLSConfiguration? {
        guard access.server.hasPrefix("https://") else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if access.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = access.caPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca)))
        }
        if serverIsIPAddress && access.tlsServerName == nil && !access.insecureSkipTLSVerify {
            // NIOSSL cannot take an IP address as the server name (no SNI
            // for IPs, and it refuses one): the chain is still verified
            // against the kubeconfig's CA, the IP SAN is checked by the REST
            // calls (libcurl) that precede every exec.
            tls.certificateVerification = .noHostnameVerification
        }
        if let cert = credential.clientCertificatePEM, let key = credential.clientKeyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(cert)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key), format: .pem))
        }
        return tls
    }

    /// Runs async work from a synchronous plugin call (a dedicated host
    /// thread, never the cooperative pool), with a deadline and the host's
    /// cancel flag.
    public static func blocking<T: Sendable>(
        timeoutSeconds: Double, isCancelled: (@Sendable () -> Bool)?, _ operation: @escaping @Sendable () async throws -> T
    ) throws -> T {
        let result = Box<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached {
            do { result.value = .success(try await operation()) } catch { result.value = .failure(error) }
            done.signal()
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if isCancelled?() == true || Date() > deadline {
                task.cancel()
                done.wait()
                if isCancelled?() == true { throw PluginError(.unavailable, "cancelled") }
                throw PluginError(.unavailable, "the command in the pod did not finish within \(Int(timeoutSeconds)) s")
            }
        }
        return try result.value!.get()
    }
}
