import ArgumentParser
import Foundation
import ScionCore
import ScionPluginKit

struct PluginsCheck: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Conformance check: call every operation with fixture payloads, validate every answer against the schemas.",
        discussion: "Runs the plugin in a helper process (a crash or a hang is a failed check) unless --in-process. A runtime's lifecycle check starts, stops and deletes one fixture agent. Exits 1 when a check fails.")
    @Argument(help: "A plugin name, or a folder holding a plugin.json.") var plugin: String
    @Flag(help: "Load the plugin into scion's own process instead of a helper process.") var inProcess = false
    @Option(help: "The runtime settings entry to check with (runtimes.<name>), for example one with a docker host.") var runtime: String?
    @Option(help: "For a runtime that needs an image: the image its fixture agent runs.") var image: String?
    @Option(help: "Seconds one call may take before it counts as hung.") var timeout: Double = 30
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let settings = try context.settingsLoader(grove: try? context.grove()).load()
        var found = try context.catalog(settings)
            .resolve(plugin, workingDirectory: context.workingDirectory, isolation: settings.pluginIsolation)
        found.isolation = PluginIsolation(mode: inProcess ? .inProcess : .process, timeoutSeconds: timeout, memoryLimitMB: found.isolation.memoryLimitMB)
        let sdk = try PluginSDK.locate(executablePath: context.executablePath).checked()
        let scratch = FileManager.default.temporaryDirectory.path + "/scion-plugin-check-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var suite = PluginConformance(plugin: found, validator: try PayloadSchemaValidator(folder: sdk.schemas), scratch: scratch)
        if let runtime {
            guard let entry = settings.runtimes[runtime] else {
                throw ScionError(.invalidArgument, "no runtimes.\(runtime) in the settings; known: \(settings.runtimes.keys.sorted().joined(separator: ", "))")
            }
            suite.runtimeConfig = entry.options
        }
        suite.image = image
        let results = suite.run()
        if global.format == .json {
            try Output.json(results)
        } else {
            print("checking \(found.manifest.kind) plugin \(found.manifest.name) (\(found.libraryPath))")
            for result in results {
                print("\(result.passed ? "ok  " : "FAIL") \(result.check)\(result.detail.isEmpty ? "" : (result.passed ? " (\(result.detail))" : "\n       \(result.detail)"))")
            }
            let failed = results.filter { !$0.passed }.count
            print("\(results.count - failed) passed, \(failed) failed")
        }
        if results.contains(where: { !$0.passed }) { throw CommandFailure(exitCode: 1) }
    }
}
