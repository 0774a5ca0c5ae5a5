import ArgumentParser
import ScionCore

struct TemplatesShow: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "A template's settings, instructions, system prompt and home files.")
    @Argument(help: "The template.") var name: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let template = try TemplateStore(context: global.context()).require(name)
        if global.format == .json {
            try Output.json(template)
            return
        }
        var lines = ["template \(template.name) (\(template.source.rawValue)\(template.directory.map { ", \($0)" } ?? ""))"]
        if let description = template.description { lines.append("description:    \(description)") }
        if let harnessConfig = template.harnessConfig { lines.append("harness config: \(harnessConfig)") }
        if let model = template.model { lines.append("model:          \(model)") }
        for key in template.env.keys.sorted() { lines.append("env:            \(key)=\(template.env[key]!)") }
        for volume in template.volumes { lines.append("volume:         \(volume)") }
        for file in template.homeFiles { lines.append("home file:      \(file)") }
        if let instructions = template.instructions, !instructions.isEmpty {
            lines += ["", "--- \(Template.instructionsFile)", instructions.trimmingCharacters(in: .newlines)]
        }
        if let systemPrompt = template.systemPrompt, !systemPrompt.isEmpty {
            lines += ["", "--- \(Template.systemPromptFile)", systemPrompt.trimmingCharacters(in: .newlines)]
        }
        print(lines.joined(separator: "\n"))
    }
}
