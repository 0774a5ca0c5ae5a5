import ArgumentParser
import Foundation
import ScionCore

struct Init: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the grove (.scion/) in this git repository, or the global one with --global.",
        discussion: "Idempotent: running it again changes nothing that exists. Adds .scion/agents/ to .gitignore.")

    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let root: String
        if global.global {
            root = context.homeDirectory
        } else {
            let start = global.grove.map { ($0 as NSString).expandingTildeInPath } ?? context.workingDirectory
            guard let repository = WorktreeManager.repositoryRoot(containing: start) else {
                throw ScionError(.failedPrecondition, "\(start) is not in a git repository: run `git init` first, or `scion init --global` for the global grove")
            }
            root = repository
        }
        let (grove, actions) = try Grove.initialize(
            root: root, isGlobal: global.global, trust: TrustStore(globalDirectory: context.globalDirectory))
        if global.format == .json {
            // `actions`: one entry per thing done (empty when already initialized).
            struct Report: Encodable {
                var grove: String
                var actions: [String]
            }
            try Output.json(Report(grove: grove.directory, actions: actions))
            return
        }
        if actions.isEmpty {
            print("grove \(grove.directory) is already initialized")
        } else {
            actions.forEach { print($0) }
            print("grove ready: scion start <agent> \"<task>\"")
        }
    }
}
