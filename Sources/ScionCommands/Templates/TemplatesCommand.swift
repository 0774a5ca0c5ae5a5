import ArgumentParser
import ScionCore

struct TemplatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates",
        abstract: "Harness-independent roles agents start from (`scion start -t <template>`).",
        discussion: """
            A template is a folder in .scion/templates/<name>/ (the grove's, which win) or
            ~/.scion/templates/<name>/ holding scion-agent.yaml, agents.md, system-prompt.md and home/.
            The built-in default template is every agent's base layer. See docs/templates.md.
            """,
        subcommands: [TemplatesList.self, TemplatesShow.self, TemplatesCreate.self, TemplatesDelete.self],
        defaultSubcommand: TemplatesList.self,
        aliases: ["template"])
}
