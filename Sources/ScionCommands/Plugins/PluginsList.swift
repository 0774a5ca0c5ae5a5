import ArgumentParser
import ScionCore

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "Runtime and harness plugins.", subcommands: [PluginsList.self],
        defaultSubcommand: PluginsList.self)
}

struct PluginsList: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Installed plugins, where each was found, and whether it loads (the first of a name wins).")
    @OptionGroup var global: GlobalOptions

    struct Row: Encodable {
        var name: String, kind: String, abiVersions: [Int], source: String, library: String, status: String
        enum CodingKeys: String, CodingKey {
            case name, kind, abiVersions = "abi_versions", source, library, status
        }
    }

    func runBlocking() throws {
        let context = global.context()
        let settings = try context.settingsLoader(grove: try? context.grove()).load()
        let catalog = context.catalog(settings)
        var seen = Set<String>()
        let rows = catalog.plugins.map { plugin -> Row in
            let first = seen.insert("\(plugin.manifest.kind)/\(plugin.manifest.name)").inserted
            var status = "shadowed"
            if first {
                do {
                    _ = try PluginLoader.shared.load(plugin)
                    status = "ok"
                } catch {
                    status = "error: \(error)"
                }
            }
            return Row(name: plugin.manifest.name, kind: plugin.manifest.kind, abiVersions: plugin.manifest.abiVersions,
                       source: plugin.source, library: plugin.libraryPath, status: status)
        }
        if global.format == .json {
            try Output.json(rows)
            return
        }
        Output.table(["NAME", "KIND", "ABI", "SOURCE", "STATUS", "LIBRARY"], rows.map {
            [$0.name, $0.kind, $0.abiVersions.map(String.init).joined(separator: ","), $0.source, $0.status, $0.library]
        })
        catalog.problems.forEach { print("error: \($0)") }
    }
}
