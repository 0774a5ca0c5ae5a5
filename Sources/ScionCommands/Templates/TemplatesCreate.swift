import ArgumentParser
import ScionCore

struct TemplatesCreate: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a template folder to fill in: in the grove, or with --global in ~/.scion for every grove.")
    @Argument(help: "The template's name: letters, digits, '-', '_' and '.'.") var name: String
    @Option(help: "Copy this template instead of starting empty.") var from: String?
    @Option(help: "What agents of this role do.") var description: String?
    @Option(name: [.customLong("harness"), .customLong("harness-config")], help: "The harness config used when --harness is not given.")
    var harnessConfig: String?
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let store = TemplateStore(context: global.context())
        let template = try store.create(
            name, global: global.global, from: from, description: description, harnessConfig: harnessConfig)
        if global.format == .json {
            try Output.json(template)
        } else {
            print("created template \(template.name) in \(template.directory ?? "?")")
        }
    }
}
