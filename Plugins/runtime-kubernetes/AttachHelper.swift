import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// `attach` runs on the user's terminal, in the host: the plugin answers
/// the argv of `scion-kube-attach` (built and installed beside this
/// library), which opens the exec WebSocket with a TTY, puts the terminal
/// in raw mode and forwards keys, output and window size. No kubectl.
enum AttachHelper {
    static let program = "scion-kube-attach"
    static let library = "libScionRuntimeKubernetes.so"

    static func argv(options: [String: JSONValue], namespace: String, pod: String, container: String, command: [String]) throws -> [String] {
        let optionsJSON = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        return [try location(), "--options", optionsJSON, "--namespace", namespace, "--pod", pod, "--container", container, "--"] + command
    }

    /// Beside this library (a development build's folder, or the plugin
    /// folder of an install), else on PATH.
    static func location() throws -> String {
        // This library's own folder, from the process's memory map, read to
        // its end: String(contentsOfFile:) stops after the first 4 KB of a
        // /proc file (it reports size 0), and the map of `scion attach` is
        // longer, so the library's line was found only when the loader
        // happened to place it early.
        let mapsFile = FileHandle(forReadingAtPath: "/proc/self/maps")
        let maps = String(decoding: (try? mapsFile?.readToEnd()) ?? Data(), as: UTF8.self)
        try? mapsFile?.close()
        if let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/" + library) }),
           let slash = line.firstIndex(of: "/") {
            let folder = (String(line[slash...]) as NSString).deletingLastPathComponent
            if FileManager.default.isExecutableFile(atPath: folder + "/" + program) { return folder + "/" + program }
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
