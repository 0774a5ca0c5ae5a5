import ArgumentParser
import ScionCore

public enum OutputFormat: String, ExpressibleByArgument, Sendable {
    case plain, json
}

/// Options every command takes (they may also come before the command name).
struct GlobalOptions: ParsableArguments {
    @Option(name: [.customShort("g"), .long], help: "Use the grove at this path instead of searching upward from the current directory.")
    var grove: String?

    @Flag(name: .long, help: "Use the global grove (~/.scion).")
    var global = false

    @Option(name: [.customShort("p"), .long], help: "Use this settings profile (overrides active_profile).")
    var profile: String?

    @Option(name: .long, help: "Output format: plain or json.")
    var format: OutputFormat = .plain

    @Flag(name: [.customShort("y"), .long], help: "Answer yes to confirmations.")
    var yes = false

    @Flag(name: .long, help: "Never prompt; fail instead.")
    var nonInteractive = false

    @Flag(name: .long, help: "Log debug details (and error causes) to stderr.")
    var debug = false

    /// Global options that take a value, for moving them after the command name.
    static let valueOptions: Set<String> = ["-g", "--grove", "-p", "--profile", "--format"]
    static let flagOptions: Set<String> = ["--global", "-y", "--yes", "--non-interactive", "--debug"]

    func context(extraOverrides: [SettingsLoader.Override] = []) -> ScionContext {
        var overrides = extraOverrides
        if let profile { overrides.append(SettingsLoader.Override(path: "active_profile", value: profile, flag: "--profile")) }
        return ScionContext(groveOverride: grove, useGlobal: global, overrides: overrides)
    }

    func orchestrator(extraOverrides: [SettingsLoader.Override] = []) throws -> Orchestrator {
        try Orchestrator(context: context(extraOverrides: extraOverrides))
    }
}
