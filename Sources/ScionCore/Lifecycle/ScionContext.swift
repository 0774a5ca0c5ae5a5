import Foundation

/// Everything a command needs to know about where it runs: the user's
/// environment and paths, and the global options (-g, --global, -p...).
public struct ScionContext: Sendable {
    public var environment: [String: String]
    public var homeDirectory: String
    public var workingDirectory: String
    public var executablePath: String
    /// `-g/--grove`: a grove path to use instead of searching.
    public var groveOverride: String?
    /// `--global`: use the global grove (~/.scion).
    public var useGlobal: Bool
    /// Settings given as flags (`--profile`...), the top layer.
    public var overrides: [SettingsLoader.Override]

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String = ScionContext.currentExecutable(),
        groveOverride: String? = nil, useGlobal: Bool = false, overrides: [SettingsLoader.Override] = []
    ) {
        self.environment = environment
        self.homeDirectory = environment["HOME"] ?? NSHomeDirectory()
        self.workingDirectory = workingDirectory
        self.executablePath = executablePath
        self.groveOverride = groveOverride ?? environment["SCION_GROVE"]
        self.useGlobal = useGlobal
        self.overrides = overrides
    }

    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The user's scion folder (global settings, templates, trust records).
    /// `SCION_USER_DIR` names it explicitly: scion sets it in the local
    /// agents it launches, whose HOME is the agent's own home, so that
    /// sub-agents still see the user's global settings.
    public var globalDirectory: String {
        if let explicit = environment[Self.userDirectoryVariable], explicit.hasPrefix("/") {
            return (explicit as NSString).standardizingPath
        }
        return homeDirectory + "/.scion"
    }

    public static let userDirectoryVariable = "SCION_USER_DIR"

    /// The home of the user whose settings these are (what `~` means in them).
    public var userHomeDirectory: String {
        environment[Self.userDirectoryVariable] == nil ? homeDirectory : (globalDirectory as NSString).deletingLastPathComponent
    }

    /// The grove this command works on, or an error saying how to make one.
    public func grove() throws -> Grove {
        if useGlobal { return Grove(directory: globalDirectory, isGlobal: true) }
        if let groveOverride {
            let path = (groveOverride as NSString).expandingTildeInPath
            let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
            let directory = (absolute as NSString).lastPathComponent == ".scion" ? absolute : absolute + "/.scion"
            let standardized = (directory as NSString).standardizingPath
            guard FileManager.default.fileExists(atPath: standardized) else {
                throw ScionError(.notInGrove, "no grove at \(standardized): run `scion init` in that project first")
            }
            return Grove(directory: standardized, isGlobal: standardized == globalDirectory)
        }
        guard let grove = Grove.find(from: workingDirectory, globalDirectory: globalDirectory) else {
            throw ScionError(.notInGrove, "not in a scion grove (no .scion folder in \(workingDirectory) or above): run `scion init` in your repository, or pass -g <path> or --global")
        }
        return grove
    }

    public func settingsLoader(grove: Grove?) -> SettingsLoader {
        SettingsLoader(globalDirectory: globalDirectory, groveDirectory: grove?.directory, environment: environment, overrides: overrides)
    }

    public func catalog(_ settings: Settings) -> PluginCatalog {
        PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: settings.pluginPaths.map { ($0 as NSString).expandingTildeInPath },
            globalDirectory: globalDirectory, executablePath: executablePath), isolation: settings.pluginIsolation)
    }
}
