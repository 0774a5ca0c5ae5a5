import ArgumentParser
import ScionCore

struct PluginsSDKCommand: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "sdk",
        abstract: "Where the plugin author's kit is: the header folder, the payload schemas, the guide, the examples.",
        discussion: "cc -shared -fPIC -o libmine.so mine.c -I \"$(scion plugins sdk --include)\"")
    @Flag(help: "Print only the folder holding scion_plugin.h (for cc -I).") var include = false
    @Flag(help: "Print only the folder of the JSON Schemas of every payload.") var schemas = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let sdk = try PluginSDK.locate(executablePath: global.context().executablePath).checked()
        if include { return print(sdk.include) }
        if schemas { return print(sdk.schemas) }
        if global.format == .json { return try Output.json(sdk) }
        for (key, value) in [("include", sdk.include), ("schemas", sdk.schemas), ("guide", sdk.guide), ("examples", sdk.examples)] {
            print("\(key.padding(toLength: 9, withPad: " ", startingAt: 0)) \(value)")
        }
    }
}
