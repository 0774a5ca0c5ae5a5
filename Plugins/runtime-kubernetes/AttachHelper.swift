import Foundation
import ScionKubernetesClient
import ScionPluginKit

/// `attach` runs on the user's terminal, in the host: the plugin answers
/// the argv of `scion-kube-attach` (built and installed beside this
/// library), which opens the exec WebSocket with a TTY, puts the terminal
/// in raw mode and forwards keys, output and window size. No kubectl.
enum AttachHelper {
    static let program = "scion-kube-attach"

    static func argv(options: [String: JSONValue], namespace: String, pod: String, container: String, command: [String]) throws -> [String] {
        let optionsJSON = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        return [try location(), "--options", optionsJSON, "--namespace", namespace, "--pod", pod, "--container", container, "--"] + command
    }

    /// Beside this library, else on PATH.
    static func location() throws -> String {
        if let folder = KubernetesPluginFiles.folder, FileManager.default.isExecutableFile(atPath: folder + "/" + program) {
            return folder + "/" + program
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(folder)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw PluginError(
            .failedPrecondition,
            "\(program) is missing: attaching to a pod needs it beside the kubernetes plugin (`swift build --product \(program)`, or scripts/install.sh)")
    }
}
