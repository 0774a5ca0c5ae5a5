import CKubeExec
import Foundation
import Synchronization
import ScionCore
@testable import ScionKubeWebSocket
@testable import ScionKubernetesClient
import ScionPluginKit
import ScionTestSupport
import Testing

/// The built libScionKubeExec.so, opened as the plugin opens it, driven
/// through kube_exec.h with the requests KubeClient builds. Sessions that
/// reach a real API server are the Kubernetes runtime tests on the test cluster.
@Suite("the exec library through its C contract")
struct ExecLibraryTests {
    let library: ExecLibrary

    init() throws {
        library = try ExecLibrary.open(folder: BuildProducts.directory).get()
    }

    static let token = "secret-token-value"

    static func client(server: String, caPEM: Data? = nil) -> KubeClient {
        KubeClient(access: ClusterAccess(
            server: server, namespace: "agents", contextName: "test", userName: "tester", caPEM: caPEM, insecureSkipTLSVerify: false,
            tlsServerName: nil, clientCertificatePEM: nil, clientKeyPEM: nil, credential: .token(Self.token)))
    }

    /// On a thread of its own, as the host calls plugins.
    func exec(_ client: KubeClient, timeoutSeconds: Double = 10, isCancelled: (@Sendable () -> Bool)? = nil) async throws -> ExecOutcome {
        try await Blocking.run { [library] in
            try Self.execOnce(client, timeoutSeconds: timeoutSeconds, isCancelled: isCancelled, library: library)
        }
    }

    static func execOnce(
        _ client: KubeClient, timeoutSeconds: Double, isCancelled: (@Sendable () -> Bool)? = nil, library: ExecLibrary
    ) throws -> ExecOutcome {
        try client.execOnce(
            pod: "web", container: "agent", argv: ["cat"], stdin: Data("input".utf8), timeoutSeconds: timeoutSeconds,
            isCancelled: isCancelled, library: library)
    }

    static func pluginError(_ outcome: Result<Void, Error>) throws -> PluginError {
        guard case .failure(let error as PluginError) = outcome else { throw TestFailure("the exec did not fail with a PluginError: \(outcome)") }
        return error
    }

    /// The call's error and how long it took, timed on the calling thread
    /// (the test's own resumption may wait for a busy cooperative pool).
    func timedFailure(
        _ client: KubeClient, timeoutSeconds: Double, isCancelled: (@Sendable () -> Bool)? = nil
    ) async throws -> (error: PluginError, seconds: Double) {
        let (outcome, seconds) = try await Blocking.run { [library] in
            let started = Date()
            let outcome = Result { try Self.execOnce(client, timeoutSeconds: timeoutSeconds, isCancelled: isCancelled, library: library) }
            return (outcome.map { _ in () }, Date().timeIntervalSince(started))
        }
        return (try Self.pluginError(outcome), seconds)
    }

    @Test("a server that refuses the connection is a failure saying so, with the pod and the context, never the token")
    func refusedConnection() async throws {
        let error = try await #require(throws: PluginError.self) { try await exec(Self.client(server: "https://127.0.0.1:1")) }
        #expect(error.code == .internal)
        #expect(error.message.contains("cannot exec in pod web (context test (user tester) at https://127.0.0.1:1)"), "\(error.message)")
        #expect(error.message.lowercased().contains("refused"), "\(error.message)")
        #expect(!error.message.contains(Self.token))
    }

    @Test("a CA that is not PEM is refused before connecting")
    func unusableCA() async throws {
        let error = try await #require(throws: PluginError.self) {
            try await exec(Self.client(server: "https://127.0.0.1:1", caPEM: Data("not a certificate".utf8)))
        }
        #expect(error.message.contains("not usable PEM"), "\(error.message)")
    }

    @Test("a server that never answers: the cancel check and the deadline end the session", arguments: [true, false])
    func silentServer(cancel: Bool) async throws {
        let server = try SilentServer()
        let started = Date()
        let cancelSoon: @Sendable () -> Bool = { Date().timeIntervalSince(started) > 0.3 }
        let silent = Self.client(server: "https://127.0.0.1:\(server.port)")
        let (error, seconds) = try await timedFailure(silent, timeoutSeconds: cancel ? 60 : 1, isCancelled: cancel ? cancelSoon : nil)
        #expect(error.code == .unavailable)
        #expect(error.message == (cancel ? "cancelled" : "the command in the pod did not finish within 1 s"))
        #expect(seconds < 20)
    }

    /// Found in CI: with the test run's other tests holding every thread of
    /// the cooperative pool, the session's tasks never started and every exec
    /// ended at its deadline ("did not finish within 10 s") instead of saying
    /// what happened.
    @Test("a session does not wait for the cooperative pool: with every pool thread held, a refused connection is reported as refused")
    func busyCooperativePool() async throws {
        let holders = ProcessInfo.processInfo.activeProcessorCount * 2
        let release = DispatchSemaphore(value: 0)
        for _ in 0..<holders {
            Task.detached { release.wait() }
        }
        let probe = Flag()
        let (poolWasHeld, outcome) = try await Blocking.run { [library] in
            Thread.sleep(forTimeInterval: 0.3)
            Task.detached { probe.set.store(true, ordering: .relaxed) }
            Thread.sleep(forTimeInterval: 0.3)
            let poolWasHeld = !probe.set.load(ordering: .relaxed)
            let outcome = Result {
                try Self.execOnce(Self.client(server: "https://127.0.0.1:1"), timeoutSeconds: 3, library: library)
            }.map { _ in () }
            // Released here, on this thread: the test's own resumption needs the pool.
            for _ in 0..<holders { release.signal() }
            return (poolWasHeld, outcome)
        }
        try #require(poolWasHeld, "the test could not hold the cooperative pool's threads")
        let error = try Self.pluginError(outcome)
        #expect(error.message.lowercased().contains("refused"), "\(error.message)")
    }

    /// Found on the test cluster: NIOSSL waits 5 s for the server's
    /// close_notify after its own, and a server that closes without one (as
    /// the test cluster's did about every other time) made each exec of
    /// `look`, `message` or a sync 5 s longer: `look` took 5.3–15.4 s instead
    /// of 0.3 s. The session's end is its exit status, so the wait is cut.
    @Test("an exec connection does not wait seconds for the server's TLS close_notify")
    func shortTLSShutdown() throws {
        var request = scion_kube_exec_request()
        request.struct_size = UInt32(MemoryLayout<scion_kube_exec_request>.size)
        let tls = try "https://127.0.0.1:6443".withCString { server in
            request.server_url = server
            return try RemoteCommandEndpoint(request).tlsConfiguration()
        }
        let timeout = try #require(tls?.shutdownTimeout)
        #expect(timeout <= .milliseconds(500), "TLS shutdown waits \(timeout)")
    }

    @Test("a request smaller than version 1's is refused, and the result says why")
    func smallRequest() {
        var request = scion_kube_exec_request()
        request.struct_size = 8
        var result = scion_kube_exec_result()
        result.struct_size = UInt32(MemoryLayout<scion_kube_exec_result>.size)
        #expect(library.run(&request, &result) == SCION_KUBE_EXEC_BAD_REQUEST)
        #expect(result.status == SCION_KUBE_EXEC_BAD_REQUEST)
        let message = result.error_message.map { String(cString: $0) }
        free(result.error_message)
        #expect(message == "the exec request is smaller than version 1's")
    }
}

/// A TCP port that accepts connections (the kernel's backlog) and never answers.
final class SilentServer {
    let socket: Int32
    let port: UInt16

    init() throws {
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(listener, generic, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, generic, &length) == 0
            }
        }
        guard listener >= 0, listening else {
            close(listener)
            throw TestFailure("cannot listen on 127.0.0.1: errno \(errno)")
        }
        socket = listener
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(socket) }
}

/// Set by one thread, read by another.
final class Flag: Sendable {
    let set = Atomic<Bool>(false)
}
