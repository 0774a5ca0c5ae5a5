// libScionKubeExec.so: the kubernetes plugin's exec sessions, in a library
// of their own so that loading the plugin does not load swift-nio
// (Sources/CKubeExec/include/kube_exec.h is the contract).
import CKubeExec
import Foundation
import ScionKubeWebSocket

@_cdecl("scion_kube_exec_run_v1")
public func scionKubeExecRun(
    _ request: UnsafePointer<scion_kube_exec_request>?, _ result: UnsafeMutablePointer<scion_kube_exec_result>?
) -> Int32 {
    guard let result, result.pointee.struct_size >= MemoryLayout<scion_kube_exec_result>.size else {
        return SCION_KUBE_EXEC_BAD_REQUEST
    }
    do {
        guard let request, request.pointee.struct_size >= MemoryLayout<scion_kube_exec_request>.size else {
            throw RemoteCommandError(SCION_KUBE_EXEC_BAD_REQUEST, "the exec request is smaller than version 1's")
        }
        let outcome = try ExecCall(request.pointee).run()
        result.pointee.exit_code = Int32(truncatingIfNeeded: outcome.exitCode)
        (result.pointee.stdout_data, result.pointee.stdout_length) = mallocCopy(outcome.stdout)
        (result.pointee.stderr_data, result.pointee.stderr_length) = mallocCopy(outcome.stderr)
        result.pointee.status = SCION_KUBE_EXEC_OK
    } catch let error as RemoteCommandError {
        result.pointee.status = error.status
        result.pointee.error_message = strdup(error.message)
    } catch {
        result.pointee.status = SCION_KUBE_EXEC_FAILED
        result.pointee.error_message = strdup("\(error)")
    }
    return result.pointee.status
}

/// One request's session: sends stdin whole, then closes it, and collects the output.
struct ExecCall {
    let session: RemoteCommandSession
    let stdin: Data?
    let timeoutSeconds: Double
    let isCancelled: () -> Bool

    init(_ request: scion_kube_exec_request) throws(RemoteCommandError) {
        session = RemoteCommandSession(endpoint: try RemoteCommandEndpoint(request), tty: false)
        // Copied: a session that does not wind down when cancelled outlives the call.
        stdin = request.send_stdin == 0 ? nil : request.stdin_bytes.data.map {
            Data(UnsafeBufferPointer(start: $0, count: request.stdin_bytes.length))
        } ?? Data()
        timeoutSeconds = request.timeout_seconds
        isCancelled = { [check = request.is_cancelled, context = request.cancel_context] in check?(context) ?? 0 != 0 }
    }

    func run() throws -> (exitCode: Int, stdout: Data, stderr: Data) {
        let output = OutputCollector()
        let input: AsyncStream<StreamInput>? = stdin.map { data in
            AsyncStream { continuation in
                continuation.yield(.stdin(data))
                continuation.yield(.endOfInput)
                continuation.finish()
            }
        }
        let code = try RemoteCommandSession.blocking(timeoutSeconds: timeoutSeconds, isCancelled: isCancelled) { [session] in
            try await session.run(input: input, output: output.append)
        }
        return (code, output.stdout, output.stderr)
    }
}

/// The caller frees these with free(3) (kube_exec.h).
func mallocCopy(_ data: Data) -> (UnsafeMutablePointer<UInt8>?, Int) {
    guard !data.isEmpty, let copy = malloc(data.count)?.assumingMemoryBound(to: UInt8.self) else { return (nil, 0) }
    data.copyBytes(to: copy, count: data.count)
    return (copy, data.count)
}

/// stdout and stderr as the session's tasks hand them over; read once they have ended.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var stdout = Data()
    private(set) var stderr = Data()

    @Sendable func append(channel: UInt8, data: Data) {
        lock.withLock {
            if channel == RemoteCommand.stderrChannel { stderr.append(data) } else { stdout.append(data) }
        }
    }
}
