import ArgumentParser
import ScionCore

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "Runtime and harness plugins: list, inspect, check, install, and the author's kit.",
        subcommands: [PluginsList.self, PluginsInfo.self, PluginsCheck.self, PluginsInstall.self, PluginsSDKCommand.self],
        defaultSubcommand: PluginsList.self)
}

struct PluginsList: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Installed plugins: name, kind, version, ABI, path, status (ok, shadowed, or refused and why), isolation.")
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let settings = try context.settingsLoader(grove: try? context.grove()).load()
        let inventory = PluginInventory(catalog: context.catalog(settings), details: true)
        if global.format == .json {
            try Output.json(inventory.entries)
            return
        }
        Output.table(["NAME", "KIND", "VERSION", "ABI", "STATUS", "ISOLATION", "PATH"], inventory.entries.map {
            [$0.name, $0.kind, $0.version ?? "-", $0.abi,
             $0.shadowedBy.map { "shadowed by \($0)" } ?? $0.status, $0.isolation, $0.path]
        })
        inventory.problems.forEach { print("error: \($0)") }
    }
}
