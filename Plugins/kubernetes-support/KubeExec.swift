import CKubeExec
import Foundation
import ScionPluginKit

/// Exec and attach over WebSocket (the remotecommand protocol). The session
/// itself runs in the exec library (`ExecLibrary`, kube_exec.h) for the
/// plugin, and in scion-kube-attach for an interactive attach; this side
/// builds the request, retries and explains failures.
public enum ExecProtocol {
    /// Offered in this order: v5 can say "stdin ended", v4 is for older servers.
    public static let subprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
}

/// What one exec produced.
public struct ExecOutcome: Sendable {
    public var exitCode: Int
    public var stdout: Data
    public var stderr: Data
}

/// The URL of one exec (a command) or attach (none) session, and what it
/// is for in messages.
public struct ExecTarget: Sendable {
    public var path: String
    public var query: [(String, String)]
    public var what: String

    public var pathAndQuery: String { path + KubeClient.queryString(query) }
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
                return try execOnce(
                    pod: pod, container: container, argv: argv, stdin: stdin, timeoutSeconds: timeoutSeconds, isCancelled: isCancelled,
                    library: ExecLibrary.shared.get())
            } catch let error as PluginError where error.code == .unavailable && error.details["dropped"] != nil && attempt < retries {
                attempt += 1
                PluginLog.debug("kubernetes: exec in pod \(pod) was dropped; trying again (\(attempt) of \(retries))")
                Thread.sleep(forTimeInterval: 0.3 * Double(attempt))
            }
        }
    }

    func execOnce(
        pod: String, container: String, argv: [String], stdin: Data?, timeoutSeconds: Double,
        isCancelled: (@Sendable () -> Bool)?, library: ExecLibrary
    ) throws -> ExecOutcome {
        let target = execTarget(pod: pod, container: container, argv: argv, tty: false, stdin: stdin != nil)
        var result = scion_kube_exec_result()
        result.struct_size = UInt32(MemoryLayout<scion_kube_exec_result>.size)
        let status = try withExecRequest(target, stdin: stdin, timeoutSeconds: timeoutSeconds, isCancelled: isCancelled) { request in
            library.run(request, &result)
        }
        let stdout = Self.adopt(result.stdout_data, result.stdout_length)
        let stderr = Self.adopt(result.stderr_data, result.stderr_length)
        let message = result.error_message.map { String(cString: $0) } ?? ""
        free(result.error_message)
        guard status == SCION_KUBE_EXEC_OK else { throw execError(status, message, target) }
        return ExecOutcome(exitCode: Int(result.exit_code), stdout: stdout, stderr: stderr)
    }

    /// A buffer of the exec library's result, owned from here on (malloc'd: kube_exec.h).
    static func adopt(_ bytes: UnsafeMutablePointer<UInt8>?, _ length: Int) -> Data {
        guard let bytes else { return Data() }
        return Data(bytesNoCopy: bytes, count: length, deallocator: .free)
    }

    public func execTarget(pod: String, container: String, argv: [String], tty: Bool, stdin: Bool) -> ExecTarget {
        var query: [(String, String)] = argv.map { ("command", $0) }
        query += [("container", container), ("stdout", "true")]
        if stdin { query.append(("stdin", "true")) }
        query.append(tty ? ("tty", "true") : ("stderr", "true"))
        return ExecTarget(
            path: podPath(pod) + (argv.isEmpty ? "/attach" : "/exec"), query: query,
            what: argv.isEmpty ? "attach to pod \(pod)" : "exec in pod \(pod)")
    }

    /// Calls `body` with the session request for `target` (this client's
    /// server, credential and TLS settings), valid during the call only.
    public func withExecRequest<T>(
        _ target: ExecTarget, stdin: Data? = nil, timeoutSeconds: Double = 0, isCancelled: (() -> Bool)? = nil,
        _ body: (UnsafePointer<scion_kube_exec_request>) throws -> T
    ) throws -> T {
        let credential = try credentials.credential()
        let memory = CRequestMemory()
        var request = scion_kube_exec_request()
        request.struct_size = UInt32(MemoryLayout<scion_kube_exec_request>.size)
        request.server_url = memory.string(access.server)
        request.path_and_query = memory.string(target.pathAndQuery)
        request.subprotocols = memory.strings(ExecProtocol.subprotocols)
        request.subprotocol_count = ExecProtocol.subprotocols.count
        request.bearer_token = memory.string(credential.bearerToken)
        if let certificate = credential.clientCertificatePEM, let key = credential.clientKeyPEM {
            request.client_certificate_pem = memory.bytes(certificate)
            request.client_key_pem = memory.bytes(key)
        }
        request.ca_pem = memory.bytes(access.caPEM)
        request.insecure_skip_tls_verify = access.insecureSkipTLSVerify ? 1 : 0
        request.tls_server_name = memory.string(access.tlsServerName)
        request.timeout_seconds = timeoutSeconds
        let cancel = CancelCheck(isCancelled ?? { false })
        request.is_cancelled = { context in Unmanaged<CancelCheck>.fromOpaque(context!).takeUnretainedValue().isCancelled() ? 1 : 0 }
        request.cancel_context = Unmanaged.passUnretained(cancel).toOpaque()
        return try withExtendedLifetime((memory, cancel)) {
            guard let stdin else { return try body(&request) }
            request.send_stdin = 1
            return try stdin.withUnsafeBytes { bytes in
                request.stdin_bytes = scion_kube_exec_bytes(data: bytes.bindMemory(to: UInt8.self).baseAddress, length: bytes.count)
                return try body(&request)
            }
        }
    }

    /// A session that gave no exit code (a status of kube_exec.h), in plain words.
    public func execError(_ status: Int32, _ message: String, _ target: ExecTarget) -> PluginError {
        switch status {
        case SCION_KUBE_EXEC_NOT_UPGRADED:
            // Ask the same URL plainly to learn why (403, 404...).
            do {
                let response = try request("GET", target.path, query: target.query)
                if !(200..<300).contains(response.status) && response.status != 400 { return error(response, doing: target.what) }
            } catch let failure as PluginError {
                return failure
            } catch {
                return PluginError(.internal, "\(error)")
            }
            return PluginError(
                .unavailable,
                "cannot \(target.what): the API server of \(access.summary) refused the WebSocket upgrade (\(message)) for \(ExecProtocol.subprotocols.joined(separator: " and "))")
        case SCION_KUBE_EXEC_DROPPED:
            return PluginError(
                .unavailable, "the exec stream to \(access.summary) ended without an exit status (the connection was dropped)",
                details: ["dropped": .bool(true)])
        case SCION_KUBE_EXEC_NOT_RUN:
            return PluginError(.failedPrecondition, "the command could not run in the pod (\(access.summary)): \(message)")
        case SCION_KUBE_EXEC_TIMED_OUT, SCION_KUBE_EXEC_CANCELLED:
            return PluginError(.unavailable, message)
        default:
            return PluginError(.internal, "cannot \(target.what) (\(access.summary)): \(message)")
        }
    }
}

/// The caller's cancel check, reached from the request's C callback.
private final class CancelCheck {
    let isCancelled: () -> Bool
    init(_ isCancelled: @escaping () -> Bool) { self.isCancelled = isCancelled }
}

/// C copies of a request's strings and PEM blocks, freed with it.
private final class CRequestMemory {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { blocks.forEach { free($0) } }

    func string(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text, let copy = strdup(text) else { return nil }
        blocks.append(copy)
        return UnsafePointer(copy)
    }

    func strings(_ texts: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let block = malloc(max(1, texts.count) * MemoryLayout<UnsafePointer<CChar>?>.stride)!
        blocks.append(block)
        let list = block.bindMemory(to: UnsafePointer<CChar>?.self, capacity: texts.count)
        for (index, text) in texts.enumerated() { list[index] = string(text) }
        return UnsafePointer(list)
    }

    func bytes(_ data: Data?) -> scion_kube_exec_bytes {
        guard let data, let copy = malloc(max(1, data.count))?.assumingMemoryBound(to: UInt8.self) else {
            return scion_kube_exec_bytes(data: nil, length: 0)
        }
        data.copyBytes(to: copy, count: data.count)
        blocks.append(UnsafeMutableRawPointer(copy))
        return scion_kube_exec_bytes(data: copy, length: data.count)
    }
}
