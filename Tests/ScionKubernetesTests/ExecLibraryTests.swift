import CKubeExec
import Foundation
import ScionCore
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

    func client(server: String, caPEM: Data? = nil) -> KubeClient {
        KubeClient(access: ClusterAccess(
            server: server, namespace: "agents", contextName: "test", userName: "tester", caPEM: caPEM, insecureSkipTLSVerify: false,
            tlsServerName: nil, clientCertificatePEM: nil, clientKeyPEM: nil, credential: .token(Self.token)))
    }

    /// On a thread of its own, as the host calls plugins: the session's
    /// tasks need the cooperative pool that a blocked test would hold.
    func exec(_ client: KubeClient, timeoutSeconds: Double = 10, isCancelled: (@Sendable () -> Bool)? = nil) async throws -> ExecOutcome {
        try await Blocking.run { [library] in
            try client.execOnce(
                pod: "web", container: "agent", argv: ["cat"], stdin: Data("input".utf8), timeoutSeconds: timeoutSeconds,
                isCancelled: isCancelled, library: library)
        }
    }

    @Test("a server that refuses the connection is a failure saying so, with the pod and the context, never the token")
    func refusedConnection() async throws {
        let error = try await #require(throws: PluginError.self) { try await exec(client(server: "https://127.0.0.1:1")) }
        #expect(error.code == .internal)
        #expect(error.message.contains("cannot exec in pod web (context test (user tester) at https://127.0.0.1:1)"), "\(error.message)")
        #expect(error.message.lowercased().contains("refused"), "\(error.message)")
        #expect(!error.message.contains(Self.token))
    }

    @Test("a CA that is not PEM is refused before connecting")
    func unusableCA() async throws {
        let error = try await #require(throws: PluginError.self) {
            try await exec(client(server: "https://127.0.0.1:1", caPEM: Data("not a certificate".utf8)))
        }
        #expect(error.message.contains("not usable PEM"), "\(error.message)")
    }

    @Test("a server that never answers: the cancel check and the deadline end the session", arguments: [true, false])
    func silentServer(cancel: Bool) async throws {
        let server = try SilentServer()
        let started = Date()
        let cancelSoon: @Sendable () -> Bool = { Date().timeIntervalSince(started) > 0.3 }
        let silent = client(server: "https://127.0.0.1:\(server.port)")
        let error = try await #require(throws: PluginError.self) {
            try await exec(silent, timeoutSeconds: cancel ? 60 : 1, isCancelled: cancel ? cancelSoon : nil)
        }
        #expect(error.code == .unavailable)
        #expect(error.message == (cancel ? "cancelled" : "the command in the pod did not finish within 1 s"))
        #expect(Date().timeIntervalSince(started) < 20)
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
