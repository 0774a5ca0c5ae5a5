import ArgumentParser
import Foundation
import ScionCore

struct Trust: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Allow this repository's own .scion settings and templates to run host commands and mount host paths.",
        discussion: """
            A cloned repository's .scion/settings.yaml and .scion/templates/ are someone else's code: until you \
            trust them, scion ignores their values that could run code on the host (plugins.paths, notify.command, \
            tmux.config, runtime engine and state settings, the command and env of local agents), mount host paths \
            (volumes) or make scion write or delete host folders. Trust is recorded per file content in \
            ~/.scion/trusted.json: editing a file makes it untrusted again until you run `scion trust` again.
            """)

    @Flag(name: [.long, .customLong("status")], help: "List the grove's files and whether each is trusted, untrusted or changed.")
    var show = false

    @Flag(name: .long, help: "Forget the trust in this grove's files.")
    var revoke = false

    @OptionGroup var global: GlobalOptions

    struct Result: Encodable {
        var grove: String
        var trusted: [GroveTrust.FileStatus]
        var allowed: [UntrustedValue]
    }

    func runBlocking() throws {
        guard !(show && revoke) else {
            throw ScionError(.invalidArgument, "--show and --revoke do not go together: run one, then the other")
        }
        let context = global.context()
        let grove = try context.grove()
        if grove.isGlobal {
            print("\(grove.directory) is your own: scion always trusts it")
            return
        }
        let trust = GroveTrust(grove: grove, globalDirectory: context.globalDirectory)
        if show {
            let status = trust.status()
            if global.format == .json { return try Output.json(status) }
            if status.isEmpty { return print("\(grove.directory) has no settings or template files") }
            Output.table(["STATE", "FILE"], status.map { [$0.state.rawValue, $0.path] })
            return
        }
        if revoke {
            let forgotten = try trust.revoke()
            if global.format == .json { return try Output.json(["grove": grove.directory, "revoked": forgotten.joined(separator: "\n")]) }
            print(forgotten.isEmpty
                ? "no file of \(grove.directory) was trusted"
                : "revoked trust in \(forgotten.count) file\(forgotten.count == 1 ? "" : "s") of \(grove.directory)")
            return
        }
        // What the current (untrusted) files lose, to tell the user what trusting them allows.
        var loader = context.settingsLoader(grove: grove)
        loader.announcesSkipped = false
        let allowed = (try? loader.load().skippedUntrusted) ?? []
        let newlyTrusted = try trust.trustAll()
        if global.format == .json {
            return try Output.json(Result(grove: grove.directory, trusted: newlyTrusted, allowed: allowed))
        }
        if newlyTrusted.isEmpty {
            print("every settings and template file of \(grove.directory) was already trusted")
            return
        }
        for file in newlyTrusted { print("trusted \(file.path) (was \(file.state.rawValue))") }
        for value in allowed { print("now allowed: \(value.key) (\(value.origin): \(value.reason.replacingOccurrences(of: "would ", with: "")))") }
    }
}
