import ArgumentParser
import Foundation
import ScionCore

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show, change and check settings (defaults < ~/.scion < .scion < SCION_* < flags).",
        subcommands: [ConfigList.self, ConfigGet.self, ConfigSet.self, ConfigUnset.self, ConfigValidate.self])
}

/// Settings for config commands: the grove's if there is one, else global only.
private func loadSettings(_ global: GlobalOptions) throws -> (ScionContext, Grove?, Settings) {
    let context = global.context()
    let grove = try? context.grove()
    return (context, grove, try context.settingsLoader(grove: grove).load())
}

struct ConfigList: BlockingCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Every effective setting.")
    @Flag(help: "Show which file, variable or flag each value came from.") var showOrigin = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        try AgentAuthority(environment: ProcessInfo.processInfo.environment).requireReadableSetting(nil)
        let (_, _, settings) = try loadSettings(global)
        let values = settings.tree.flattened()
        if global.format == .json {
            try Output.json(values.map { ["key": $0.key, "value": $0.value, "origin": $0.origin.description] })
            return
        }
        for value in values {
            print("\(value.key)=\(value.value)" + (showOrigin ? "\t(\(value.origin))" : ""))
        }
    }
}

struct ConfigGet: BlockingCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "One setting, by dotted key (e.g. profiles.local.runtime).")
    @Argument(help: "The dotted key.") var key: String
    @Flag(help: "Show where the value came from.") var showOrigin = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        try AgentAuthority(environment: ProcessInfo.processInfo.environment).requireReadableSetting(key)
        let (_, _, settings) = try loadSettings(global)
        guard let node = settings.tree.node(at: key.split(separator: ".").map(String.init)) else {
            throw ScionError(.notFound, "no setting \(key)")
        }
        let values = node.flattened(prefix: key)
        if global.format == .json {
            try Output.json(values.map { ["key": $0.key, "value": $0.value, "origin": $0.origin.description] })
            return
        }
        if values.count == 1, values[0].key == key {
            print(values[0].value + (showOrigin ? "\t(\(values[0].origin))" : ""))
        } else {
            values.forEach { print("\($0.key)=\($0.value)" + (showOrigin ? "\t(\($0.origin))" : "")) }
        }
    }
}

struct ConfigSet: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set a value in the grove's settings.yaml (or ~/.scion's with --global).",
        discussion: "Lists and mappings are written as YAML: scion config set profiles.docker.volumes '[/data:/data:ro]'")
    @Argument(help: "The dotted key.") var key: String
    @Argument(help: "The value.") var value: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let grove = global.global ? nil : try context.grove()
        let file = grove?.settingsFile ?? SettingsLoader.settingsFile(in: context.globalDirectory)
        try SettingsEditor.set(key, value: value, in: file, loader: context.settingsLoader(grove: grove))
        if global.format == .json {
            try Output.json(["key": key, "value": value, "file": file])
        } else {
            print("\(key)=\(value) (\(file))")
        }
    }
}

struct ConfigUnset: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset", abstract: "Remove a key from the grove's settings.yaml (or ~/.scion's with --global); the layers below then apply.")
    @Argument(help: "The dotted key.") var key: String
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let context = global.context()
        let grove = global.global ? nil : try context.grove()
        let file = grove?.settingsFile ?? SettingsLoader.settingsFile(in: context.globalDirectory)
        let outcome = try SettingsEditor.unset(key, in: file, loader: context.settingsLoader(grove: grove))
        if global.format == .json {
            struct Report: Encodable {
                var key: String
                var file: String
                var changed: Bool
            }
            try Output.json(Report(key: key, file: file, changed: outcome == .changed))
        } else {
            print(outcome == .changed ? "unset \(key) (\(file))" : "\(key) is not set in \(file) (nothing to do)")
        }
    }
}

struct ConfigValidate: BlockingCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check the settings files; exit non-zero on problems.")
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        let (context, _, settings) = try loadSettings(global)
        let findings = SettingsValidator.findings(settings, catalog: context.catalog(settings))
        let problems = findings.filter { $0.severity == .problem }.map(\.message)
        let unavailable = findings.filter { $0.severity == .unavailable }.map(\.message)
        if global.format == .json {
            try Output.json(["problems": problems, "warnings": settings.warnings, "unavailable": unavailable])
        } else {
            settings.warnings.forEach { print("warning: \($0)") }
            problems.forEach { print("error: \($0)") }
            unavailable.forEach { print("note: \($0)") }
            if problems.isEmpty { print("settings are valid") }
        }
        if !problems.isEmpty { throw CommandFailure(exitCode: 2) }
    }
}
