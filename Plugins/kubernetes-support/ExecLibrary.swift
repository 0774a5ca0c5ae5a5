import CKubeExec
import Foundation
import ScionPluginKit

/// The files of the kubernetes plugin, which live in one folder: its
/// library, the exec library it opens at the first exec and the attach
/// helper it names (a development build's folder, or the plugin folder of
/// an install).
public enum KubernetesPluginFiles {
    public static let library = "libScionRuntimeKubernetes.so"

    /// The folder of the plugin's library in this process, nil when it is
    /// not loaded (scion-kube-attach, the client's own tests). Found in the
    /// process's memory map, read to its end: String(contentsOfFile:) stops
    /// after the first 4 KB of a /proc file (it reports size 0), and the map
    /// of a scion process is longer, so the library's line was found only
    /// when the loader happened to place it early.
    public static let folder: String? = {
        let mapsFile = FileHandle(forReadingAtPath: "/proc/self/maps")
        let maps = String(decoding: (try? mapsFile?.readToEnd()) ?? Data(), as: UTF8.self)
        try? mapsFile?.close()
        guard let line = maps.split(separator: "\n").first(where: { $0.hasSuffix("/" + library) }),
              let slash = line.firstIndex(of: "/")
        else { return nil }
        return (String(line[slash...]) as NSString).deletingLastPathComponent
    }()
}

/// libScionKubeExec.so, the exec sessions (kube_exec.h), opened at the
/// first exec from the plugin's own folder and kept for the process.
struct ExecLibrary: @unchecked Sendable {
    let run: scion_kube_exec_run_fn

    static let shared: Result<ExecLibrary, PluginError> = open(folder: KubernetesPluginFiles.folder)

    static func open(folder: String?) -> Result<ExecLibrary, PluginError> {
        let name = SCION_KUBE_EXEC_LIBRARY_NAME
        guard let folder else {
            return .failure(PluginError(
                .unavailable,
                "cannot exec in a pod: \(KubernetesPluginFiles.library) is not loaded in this process, so its exec library \(name), which lives beside it, cannot be found"))
        }
        let path = folder + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            return .failure(PluginError(
                .unavailable,
                "cannot exec in a pod: the kubernetes plugin's exec library is missing: looked for \(path), beside \(KubernetesPluginFiles.library); build it (`swift build --product ScionKubeExec`) or install scion again (scripts/install.sh)",
                details: ["path": .string(path)]))
        }
        var reasonBuffer = [CChar](repeating: 0, count: 512)
        let started = DispatchTime.now()
        guard let run = kube_exec_open(path, &reasonBuffer, reasonBuffer.count) else {
            let reason = reasonBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            return .failure(PluginError(
                .unavailable,
                "cannot exec in a pod: \(path) is not the exec library this kubernetes plugin expects (one exporting \(SCION_KUBE_EXEC_ENTRY_SYMBOL) of kube_exec.h): \(reason); install scion again (scripts/install.sh)",
                details: ["path": .string(path)]))
        }
        PluginLog.debug("kubernetes: opened \(path) in \((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1000) µs")
        return .success(ExecLibrary(run: run))
    }
}
