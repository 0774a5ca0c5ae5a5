import ArgumentParser
import Foundation
import ScionCore
import ScionPluginKit

/// `scion sync from|to <agent>`: an agent on a remote runtime (a pod) works
/// in its own copy of the branch; this moves commits between it and the
/// agent's branch on the host. `stop` and `delete` sync from it first.
struct Sync: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Move commits between a remote agent (a pod) and its branch here: `from` brings its commits, `to` sends yours.")

    @Argument(help: "from (the agent's commits come to its branch here) or to (this branch's new commits go to the agent).")
    var direction: String
    @Argument(help: "The agent.") var name: String
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard SyncRequest.Direction(rawValue: direction) != nil else {
            throw ValidationError("the direction is `from` or `to`, not \"\(direction)\"")
        }
    }

    func runBlocking() throws {
        let way = SyncRequest.Direction(rawValue: direction)!
        try global.orchestrator().sync(name, direction: way) { event in
            if global.format == .plain { FileHandle.standardError.write(Data("\(event.message)\n".utf8)) }
        }
        if global.format == .json {
            try Output.json(["agent": name, "direction": direction, "synced": "true"])
        } else {
            print("synced \(name) (\(way == .from ? "from its pod" : "to its pod"))")
        }
    }
}
