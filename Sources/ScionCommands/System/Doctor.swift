import ArgumentParser
import ScionCore

struct Doctor: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check prerequisites (tmux, git, settings, plugins, the active runtime) and the grove's agents for drift and leftovers.")
    @Flag(help: "Repair what can be repaired: recreate missing worktrees, record renamed branches, update the paths of a moved repository, remove git worktree entries no agent owns.")
    var fix = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        var checks = ScionCore.Doctor(context: global.context()).run()
        if (try? global.context().grove()) != nil, let orchestrator = try? global.orchestrator() {
            checks += orchestrator.groveChecks(fix: fix)
        }
        if global.format == .json {
            try Output.json(checks)
        } else {
            Output.table(["CHECK", "RESULT", "DETAIL"], checks.map { [$0.name, $0.result.rawValue, $0.detail] })
        }
        if checks.contains(where: { $0.result == .failed }) { throw CommandFailure(exitCode: 1) }
    }
}

struct Version: BlockingCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print scion's version and plugin ABI version.")
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        if global.format == .json {
            try Output.json(["version": ScionCommand.version, "plugin_abi": "\(PluginLoader.abiVersion)"])
        } else {
            print("scion \(ScionCommand.version) (plugin ABI \(PluginLoader.abiVersion))")
        }
    }
}
