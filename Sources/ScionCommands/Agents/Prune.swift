import ArgumentParser
import Foundation
import ScionCore

struct Prune: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove what scion made in this grove that no agent owns: containers, tmux servers, worktree entries, half-created agents, leftover secret files.",
        discussion: """
            Only this grove's things (by its grove id and its agent folders) are touched. A branch is removed only \
            with the half-created agent whose record shows scion created it; other branches are reported and kept.
            """)

    @Flag(help: "Only list what would be removed.") var dryRun = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let items = try global.orchestrator().prune(dryRun: dryRun)
        if global.format == .json {
            try Output.json(PruneOutput(dryRun: dryRun, items: items))
        } else if items.isEmpty {
            print("nothing to prune")
        } else {
            for item in items {
                let verb: String
                switch item.action {
                case .removed: verb = "removed"
                case .wouldRemove: verb = "would remove"
                case .kept: verb = "kept"
                case .failed: verb = "cannot remove"
                }
                print("\(verb) \(item.detail)")
            }
        }
        if items.contains(where: { $0.action == .failed }) { throw CommandFailure(exitCode: 1) }
    }
}

private struct PruneOutput: Encodable {
    var dryRun: Bool
    var items: [PruneItem]

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", items
    }
}
