import ArgumentParser
import Foundation
import ScionCore
import ScionPluginKit

struct Hook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run by a harness's hooks inside an agent: reads the event JSON on stdin and updates the agent's activity.",
        discussion: "Always exits 0 so a broken status update never blocks the agent; problems go to stderr.",
        shouldDisplay: false)

    @Option(help: "The harness whose event dialect this is.") var harness: String
    @Argument(help: "The event name.") var event: String
    @Argument(help: "An event JSON given as an argument (Codex notify) instead of stdin.") var payload: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        do {
            let text = payload ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .null
            let context = global.context()
            let settings = try context.settingsLoader(grove: try? context.grove()).load()
            let catalog = context.catalog(settings)
            let plugin = try catalog.require(kind: "harness", name: harness, wantedBy: "scion hook")
            let update = try HarnessClient(PluginLoader.shared.load(plugin)).normalizeHook(HookEvent(event: event, payload: json))
            try ActivityReporter(home: context.homeDirectory).apply(update)
        } catch {
            FileHandle.standardError.write(Data("scion hook: \(error)\n".utf8))
        }
    }
}

struct StatusReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Report this agent's state from inside it: ask_user, blocked, task_completed or working.")

    @Argument(help: "ask_user, blocked, task_completed or working.") var kind: String
    @Argument(parsing: .remaining, help: "A short message.") var message: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let context = global.context()
        guard context.environment["SCION_AGENT"] != nil else {
            throw ScionError(.failedPrecondition, "scion status is for agents to report their own state; run it inside an agent")
        }
        let activity = try ActivityReporter.explicitActivity(kind)
        try ActivityReporter(home: context.homeDirectory).apply(
            ActivityUpdate(activity: activity, message: message.isEmpty ? nil : message.joined(separator: " ")), explicit: true)
    }
}
