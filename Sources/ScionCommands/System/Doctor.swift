import ArgumentParser
import ScionCore

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check prerequisites: tmux, git, settings, plugins and the active profile's runtime.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let checks = ScionCore.Doctor(context: global.context()).run()
        if global.format == .json {
            try Output.json(checks)
        } else {
            Output.table(["CHECK", "RESULT", "DETAIL"], checks.map { [$0.name, $0.result.rawValue, $0.detail] })
        }
        if checks.contains(where: { $0.result == .failed }) { throw CommandFailure(exitCode: 1) }
    }
}

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print scion's version and plugin ABI version.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        if global.format == .json {
            try Output.json(["version": ScionCommand.version, "plugin_abi": "\(PluginLoader.abiVersion)"])
        } else {
            print("scion \(ScionCommand.version) (plugin ABI \(PluginLoader.abiVersion))")
        }
    }
}
