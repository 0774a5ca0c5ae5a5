import ArgumentParser
import ScionCore

struct PluginsInstall: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a plugin folder (its plugin.json and library) into ~/.scion/plugins, after checking that it loads.")
    @Argument(help: "A folder holding plugin.json and the library it names.") var folder: String
    @Flag(help: "Replace an installed plugin of the same name.") var replace = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let settings = try context.settingsLoader(grove: try? context.grove()).load()
        let installed = try PluginInstaller(destination: context.globalDirectory + "/plugins")
            .install(folder, workingDirectory: context.workingDirectory, replace: replace, isolation: settings.pluginIsolation)
        if global.format == .json {
            try Output.json(["name": installed.manifest.name, "kind": installed.manifest.kind, "path": installed.libraryPath])
        } else {
            print("installed \(installed.manifest.kind) plugin \(installed.manifest.name) at \(installed.libraryPath)")
        }
    }
}
