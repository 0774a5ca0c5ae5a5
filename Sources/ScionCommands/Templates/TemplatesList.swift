import ArgumentParser
import ScionCore

struct TemplatesList: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The templates this grove sees (grove, then ~/.scion, then built-in).",
        aliases: ["ls"])
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let templates = try TemplateStore(context: global.context()).all()
        if global.format == .json {
            try Output.json(templates)
            return
        }
        Output.table(
            ["NAME", "SOURCE", "HARNESS", "DESCRIPTION"],
            templates.map { [$0.name, $0.source.rawValue, $0.harnessConfig ?? "-", $0.description ?? ""] })
    }
}
