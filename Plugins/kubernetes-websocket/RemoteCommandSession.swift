import CKubeExec
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOSSL
import WSClient

/// Input of a streaming session: stdin bytes or a terminal size.
public enum StreamInput: Sendable {
    case stdin(Data)
    case endOfInput
    case resize(width: Int, height: Int)
}

/// Why a session gave no exit code: a status of kube_exec.h and a sentence.
public struct RemoteCommandError: Error, CustomStringConvertible {
    public var status: Int32
    public var message: String

    public init(_ status: Int32, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

/// Where and as whom a session connects: the connection facts of a
/// `scion_kube_exec_request`, copied out of it.
public struct RemoteCommandEndpoint: Sendable, CustomStringConvertible {
    /// `wss://host:port/api/v1/.../exec?...`
    public var url: String
    public var subprotocols: [String]
    var bearerToken: String?
    var clientCertificatePEM: [UInt8]?
    var clientKeyPEM: [UInt8]?
    var caPEM: [UInt8]?
    var insecureSkipTLSVerify: Bool
    var tlsServerName: String?
    var serverIsIPAddress: Bool

    /// The SNI name sent to a server given by IP address (an IP cannot be one).
    static let ipServerSNIName = "kubernetes.default.svc"

    public init(_ request: scion_kube_exec_request) throws(RemoteCommandError) {
        guard let server = request.server_url.map({ String(cString: $0) }), !server.isEmpty else {
            throw RemoteCommandError(SCION_KUBE_EXEC_BAD_REQUEST, "the exec request names no API server")
        }
        let path = request.path_and_query.map { String(cString: $0) } ?? ""
        url = server.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://") + path
        subprotocols = (0..<request.subprotocol_count).compactMap { request.subprotocols?[$0].map { String(cString: $0) } }
        bearerToken = request.bearer_token.map { String(cString: $0) }
        clientCertificatePEM = Self.bytes(request.client_certificate_pem)
        clientKeyPEM = Self.bytes(request.client_key_pem)
        caPEM = Self.bytes(request.ca_pem)
        insecureSkipTLSVerify = request.insecure_skip_tls_verify != 0
        tlsServerName = request.tls_server_name.map { String(cString: $0) }
        let host = URLComponents(string: server)?.host ?? ""
        serverIsIPAddress = host.contains(":")
            || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
    }

    static func bytes(_ block: scion_kube_exec_bytes) -> [UInt8]? {
        block.data.map { Array(UnsafeBufferPointer(start: $0, count: block.length)) }
    }

    /// The URL only: the credentials never reach a message.
    public var description: String { url }

    var useTLS: Bool { url.hasPrefix("wss://") }

    func tlsConfiguration() throws(RemoteCommandError) -> TLSConfiguration? {
        guard useTLS else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        // NIOSSL waits this long for the server's close_notify after its own
        // (5 s by default). A session's end is known from its exit status on
        // the error channel (a cut stream has none, and says so), so nothing
        // is gained by waiting; servers that close the connection without a
        // close_notify otherwise made every such exec 5 s longer.
        tls.shutdownTimeout = .milliseconds(Self.tlsShutdownMilliseconds)
        do {
            if insecureSkipTLSVerify {
                tls.certificateVerification = .none
            } else if let caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(caPEM))
            }
            if serverIsIPAddress && tlsServerName == nil && !insecureSkipTLSVerify {
                // NIOSSL cannot take an IP address as the server name (no SNI
                // for IPs, and it refuses one): the chain is still verified
                // against the kubeconfig's CA, the IP SAN is checked by the REST
                // calls (libcurl) that precede every exec.
                tls.certificateVerification = .noHostnameVerification
            }
            if let clientCertificatePEM, let clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(clientCertificatePEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: clientKeyPEM, format: .pem))
            }
        } catch {
            throw RemoteCommandError(SCION_KUBE_EXEC_FAILED, "the CA, client certificate or key of the exec connection is not usable PEM: \(error)")
        }
        return tls
    }

    static let tlsShutdownMilliseconds: Int64 = 100

    var sniHostname: String? { tlsServerName ?? (serverIsIPAddress ? Self.ipServerSNIName : nil) }
}

/// One exec (or attach) session over WebSocket.
public struct RemoteCommandSession: Sendable {
    public let endpoint: RemoteCommandEndpoint
    public let tty: Bool

    public init(endpoint: RemoteCommandEndpoint, tty: Bool) {
        self.endpoint = endpoint
        self.tty = tty
    }

    /// Runs the session with the first subprotocol the server upgrades to;
    /// returns the command's exit code. `output` gets stdout/stderr bytes as
    /// they come.
    public func run(input: AsyncStream<StreamInput>?, output: @escaping @Sendable (UInt8, Data) -> Void) async throws -> Int {
        var refusal: WebSocketClientError?
        for subprotocol in endpoint.subprotocols {
            do {
                return try await run(subprotocol, input: input, output: output)
            } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                refusal = error
            }
        }
        throw RemoteCommandError(SCION_KUBE_EXEC_NOT_UPGRADED, refusal.map { "\($0)" } ?? "no subprotocol was offered")
    }

    private func run(
        _ subprotocol: String, input: AsyncStream<StreamInput>?, output: @escaping @Sendable (UInt8, Data) -> Void
    ) async throws -> Int {
        var headers = HTTPFields()
        headers[HTTPField.Name("Sec-WebSocket-Protocol")!] = subprotocol
        if let token = endpoint.bearerToken { headers[.authorization] = "Bearer \(token)" }
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 24, additionalHeaders: headers,
            // Interactive sessions ping every 5 s (as kubectl); a command's own
            // stream does not: a busy server that answers a ping late would
            // otherwise have the stream closed before its exit status.
            autoPing: tty ? .enabled(timePeriod: .seconds(5)) : .disabled,
            sniHostname: endpoint.sniHostname)
        let status = Box<Data?>(nil)
        let closesStdin = RemoteCommand.canCloseStdin(subprotocol)
        try await WebSocketClient.connect(
            url: endpoint.url, configuration: configuration, tlsConfiguration: try endpoint.tlsConfiguration(),
            logger: Logger(label: "scion.kubernetes.exec", factory: { _ in SwiftLogNoOpLogHandler() })
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
                                if closesStdin {
                                    try await outbound.write(.binary(ByteBuffer(bytes: [RemoteCommand.closeSignal, RemoteCommand.stdinChannel])))
                                }
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
            throw RemoteCommandError(SCION_KUBE_EXEC_DROPPED, "the exec stream ended without an exit status (the connection was dropped)")
        }
        let (code, message) = RemoteCommand.exitCode(fromStatus: data)
        guard let code else { throw RemoteCommandError(SCION_KUBE_EXEC_NOT_RUN, message) }
        return code
    }

    /// How long a cancelled session may take to wind down before it is left
    /// behind: the client does not cancel a connection whose TLS handshake or
    /// upgrade the server never answers.
    static let windDownSeconds = 2.0

    /// Runs async work from a synchronous caller (a dedicated thread, never
    /// the cooperative pool), with a deadline and a cancel check polled
    /// every 100 ms on the calling thread. After a cancel or the deadline the
    /// work is cancelled and, if it has not ended within `windDownSeconds`,
    /// left to end on its own: it must own everything it uses.
    ///
    /// The work runs on a queue of its own (`SessionExecutor`), not on the
    /// process's cooperative pool: the caller's process may keep that pool
    /// busy (a broker serving many clients, a test run), and a session that
    /// waits for a pool thread would miss its deadline without having started.
    public static func blocking<T: Sendable>(
        timeoutSeconds: Double, isCancelled: () -> Bool, _ operation: @escaping @Sendable () async throws -> T
    ) throws -> T {
        let result = Box<Result<T, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached(executorPreference: SessionExecutor()) {
            do { result.value = .success(try await operation()) } catch { result.value = .failure(error) }
            done.signal()
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if isCancelled() || Date() > deadline {
                task.cancel()
                _ = done.wait(timeout: .now() + windDownSeconds)
                if isCancelled() { throw RemoteCommandError(SCION_KUBE_EXEC_CANCELLED, "cancelled") }
                throw RemoteCommandError(SCION_KUBE_EXEC_TIMED_OUT, "the command in the pod did not finish within \(Int(timeoutSeconds)) s")
            }
        }
        return try result.value!.get()
    }
}

/// Runs a session's tasks, and the child tasks they start, one at a time on
/// a serial dispatch queue: a queue's thread comes from dispatch's overcommit
/// pool, which grows when threads block, where the cooperative pool does not.
final class SessionExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "scion.kubernetes.exec-session")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// A value handed between a session's tasks and the thread that waits for it.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
