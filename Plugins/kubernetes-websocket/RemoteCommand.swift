import Foundation

/// The remotecommand protocol of exec and attach over WebSocket: binary
/// messages whose first byte is the channel: 0 stdin, 1 stdout, 2 stderr,
/// 3 error (a Status with the exit code), 4 resize; v5's `[255, channel]`
/// closes a channel. The subprotocols offered (v5, then v4) are the
/// caller's (`ExecProtocol` of the Kubernetes client).
public enum RemoteCommand {
    public static let stdinChannel: UInt8 = 0, stdoutChannel: UInt8 = 1, stderrChannel: UInt8 = 2
    public static let errorChannel: UInt8 = 3, resizeChannel: UInt8 = 4, closeSignal: UInt8 = 255
    /// Bytes of stdin per message.
    static let chunkSize = 32 * 1024

    /// Whether `subprotocol` can say "stdin ended" (the close signal).
    static func canCloseStdin(_ subprotocol: String) -> Bool { subprotocol.hasPrefix("v5.") }

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
