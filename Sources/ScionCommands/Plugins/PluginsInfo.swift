import ArgumentParser
import Foundation
import ScionCore

struct PluginsInfo: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "One plugin: its manifest, where it was found, the operations it supports and its capabilities.")
    @Argument(help: "A plugin name, or a folder holding a plugin.json.") var plugin: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let settings = try context.settingsLoader(grove: try? context.grove()).load()
        let catalog = context.catalog(settings)
        let found = try catalog.resolve(plugin, workingDirectory: context.workingDirectory, isolation: settings.pluginIsolation)
        let others = catalog.plugins.filter { $0.manifest.name == found.manifest.name && $0.manifestPath != found.manifestPath }
        let inventory = PluginInventory(catalog: PluginCatalog(plugins: [found] + others), details: true)
        guard let entry = inventory.entries.first else { throw ScionError(.notFound, "no plugin \(plugin)") }
        if global.format == .json {
            try Output.json(entry)
        } else {
            var lines = [
                ("name", entry.name), ("kind", entry.kind), ("version", entry.version ?? "-"), ("description", entry.description ?? "-"),
                ("abi", entry.abi), ("status", entry.status), ("isolation", entry.isolation), ("manifest", entry.manifest),
                ("library", entry.path), ("source", entry.source),
                ("operations", entry.operations?.joined(separator: ", ") ?? "- (a 1.0 plugin does not list them)"),
            ]
            if let capabilities = entry.capabilities {
                lines.append(("capabilities", capabilities.keys.sorted().map { "\($0)=\(capabilities[$0]!.stringValue ?? "?")" }.joined(separator: " ")))
            }
            for other in inventory.entries.dropFirst() {
                lines.append(("shadows", "\(other.manifest) (\(PluginInventory.searchOrder))"))
            }
            for (key, value) in lines { print("\(key.padding(toLength: 13, withPad: " ", startingAt: 0)) \(value)") }
        }
        if !entry.loads { throw CommandFailure(exitCode: 6) }
    }
}
