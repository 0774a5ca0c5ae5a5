// scion-kube-attach: the interactive end of `scion attach` for agents in
// pods. The kubernetes plugin answers `attach_argv` with this program; the
// host runs it on the user's terminal. It opens an exec WebSocket with a
// TTY to the agent container, puts the terminal in raw mode, forwards keys
// and window sizes, and exits with the command's exit status.
import CKubeExec
import Foundation
import ScionKubeWebSocket
import ScionKubernetesClient
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var values: [String: String] = [:]
while let first = arguments.first, first != "--" {
    guard first.hasPrefix("--"), arguments.count >= 2 else { fail("usage: scion-kube-attach --options JSON --namespace NS --pod POD --container NAME -- COMMAND...") }
    values[String(first.dropFirst(2))] = arguments[1]
    arguments.removeFirst(2)
}
let command = Array(arguments.dropFirst())
guard let pod = values["pod"], let container = values["container"], !command.isEmpty else {
    fail("scion-kube-attach needs --pod, --container and a command after --")
}
let options = (try? JSONDecoder().decode([String: JSONValue].self, from: Data((values["options"] ?? "{}").utf8))) ?? [:]
var resolved = options
if let namespace = values["namespace"] { resolved[ClusterAccess.Option.namespace] = .string(namespace) }

let client: KubeClient
do {
    client = KubeClient(access: try ClusterAccess.resolve(options: resolved))
} catch {
    fail("\(error)")
}

func terminalSize() -> (Int, Int)? {
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return (Int(size.ws_col), Int(size.ws_row))
}

let interactive = isatty(STDIN_FILENO) != 0
let savedTerminal: termios = {
    var saved = termios()
    if interactive {
        tcgetattr(STDIN_FILENO, &saved)
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
    }
    return saved
}()
func restore() {
    var saved = savedTerminal
    if interactive { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
}

let (input, continuation) = AsyncStream<StreamInput>.makeStream()
if let (width, height) = terminalSize() { continuation.yield(.resize(width: width, height: height)) }
signal(SIGWINCH, SIG_IGN)
let winch = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
winch.setEventHandler {
    if let (width, height) = terminalSize() { continuation.yield(.resize(width: width, height: height)) }
}
winch.resume()
Thread.detachNewThread {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(STDIN_FILENO, &buffer, buffer.count)
        if count <= 0 { break }
        continuation.yield(.stdin(Data(buffer[0..<count])))
    }
}

let target = client.execTarget(pod: pod, container: container, argv: command, tty: true, stdin: true)
let status: Int
do {
    status = try client.withExecRequest(target) { request in
        let session = RemoteCommandSession(endpoint: try RemoteCommandEndpoint(request.pointee), tty: true)
        return try RemoteCommandSession.blocking(timeoutSeconds: Double(Int32.max), isCancelled: { false }) {
            try await session.run(input: input) { _, data in
                data.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                        if written <= 0 { break }
                        offset += written
                    }
                }
            }
        }
    }
} catch let error as RemoteCommandError {
    restore()
    fail("\(client.execError(error.status, error.message, target))")
} catch {
    restore()
    fail("\(error)")
}
restore()
exit(Int32(truncatingIfNeeded: status))
