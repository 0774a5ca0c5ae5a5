import ArgumentParser
import ScionCore

struct TemplatesDelete: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Remove a template folder (the grove's, or ~/.scion's with --global).",
        aliases: ["rm"])
    @Argument(help: "The template.") var name: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let folder = try TemplateStore(context: global.context()).delete(name, global: global.global)
        if global.format == .json { try Output.json(["deleted": folder]) } else { print("deleted template \(name) (\(folder))") }
    }
}
