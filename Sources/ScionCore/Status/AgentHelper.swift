import Foundation
import ScionPluginKit

/// `scion-agent`, the in-agent helper that harness hooks run: where it is
/// on the host (beside the scion executable) and where the agent sees it.
/// Local agents run it in place; containers get it mounted read-only at
/// /usr/local/bin/scion-agent, and at /usr/local/bin/scion too, where it
/// answers `scion status` and `scion hook` (and explains that the other
/// commands need the host broker).
struct AgentHelper {
    static let name = "scion-agent"
    static let containerPath = "/usr/local/bin/scion-agent"
    static let containerScionPath = "/usr/local/bin/scion"

    /// The scion executable and the helper beside it.
    let scionPath: String
    var hostPath: String { (scionPath as NSString).deletingLastPathComponent + "/" + Self.name }

    private var installed: Bool { FileManager.default.isExecutableFile(atPath: hostPath) }

    /// The helper's path as an agent sees it. A local agent without the
    /// helper uses scion itself, which records events the same way.
    func path(isolated: Bool) throws -> String {
        guard isolated else { return installed ? hostPath : scionPath }
        guard installed else {
            throw ScionError(
                .failedPrecondition,
                "\(hostPath) is missing: container agents need \(Self.name) installed beside scion (build it with `swift build --product \(Self.name)`)")
        }
        return Self.containerPath
    }

    /// What a container needs mounted for the helper.
    func mounts(isolated: Bool) -> [RunSpec.Mount] {
        guard isolated else { return [] }
        return [
            RunSpec.Mount(source: hostPath, target: Self.containerPath, readOnly: true),
            RunSpec.Mount(source: hostPath, target: Self.containerScionPath, readOnly: true),
        ]
    }

    /// The hook command a harness writes into its config.
    func hookCommand(harness: String, isolated: Bool) throws -> [String] {
        [try path(isolated: isolated), "hook", "--harness", harness]
    }
}
