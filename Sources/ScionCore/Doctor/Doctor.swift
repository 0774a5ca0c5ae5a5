import Foundation
import ScionPluginKit

/// Checks what agents need on this machine.
public struct Doctor: Sendable {
    public struct Check: Sendable, Encodable {
        public enum Result: String, Sendable, Encodable { case ok, info, warning, failed }
        public var name: String
        public var result: Result
        public var detail: String
    }

    public let context: ScionContext

    public init(context: ScionContext) {
        self.context = context
    }

    public func run() -> [Check] {
        var checks: [Check] = []
        checks.append(tool("tmux", ["tmux", "-V"], required: true))
        checks.append(tool("git", ["git", "--version"], required: true))
        let grove = try? context.grove()
        checks.append(grove.map { Check(name: "grove", result: .ok, detail: $0.directory) }
            ?? Check(name: "grove", result: .warning, detail: "not in a grove here: run `scion init` in your repository"))
        let settings: Settings
        do {
            settings = try context.settingsLoader(grove: grove).load()
            checks.append(Check(name: "settings", result: settings.warnings.isEmpty ? .ok : .warning,
                                detail: settings.warnings.isEmpty ? "valid" : settings.warnings.joined(separator: "; ")))
        } catch {
            checks.append(Check(name: "settings", result: .failed, detail: "\(error)"))
            return checks
        }
        let catalog = context.catalog(settings)
        for problem in catalog.problems {
            checks.append(Check(name: "plugin manifest", result: .failed, detail: problem))
        }
        // Every plugin found: loaded, refused (and why), or shadowed (and by which).
        for entry in PluginInventory(catalog: catalog, details: false).entries {
            let name = "\(entry.kind) \(entry.name)"
            if let winner = entry.shadowedBy {
                checks.append(Check(name: name, result: .info, detail: "\(entry.manifest) is shadowed by \(winner) (\(PluginInventory.searchOrder))"))
            } else if entry.loads {
                let isolation = entry.isolation == PluginIsolation.Mode.process.rawValue ? ", in a helper process" : ""
                checks.append(Check(name: name, result: .ok, detail: entry.path + isolation))
            } else {
                checks.append(Check(name: name, result: .failed, detail: String(entry.status.dropFirst("refused: ".count))))
            }
        }
        for finding in SettingsValidator.findings(settings, catalog: catalog) {
            checks.append(Check(
                name: finding.severity == .problem ? "settings reference" : "unavailable",
                result: finding.severity == .problem ? .warning : .info, detail: finding.message))
        }
        if let profile = settings.profiles[settings.activeProfile], let runtime = settings.runtimes[profile.runtime] {
            checks.append(activeRuntime(runtime, catalog: catalog, profile: profile.name))
        }
        return checks
    }

    /// The active profile's runtime answers `list`.
    private func activeRuntime(_ runtime: Settings.Runtime, catalog: PluginCatalog, profile: String) -> Check {
        let name = "profile \(profile) runtime"
        guard let plugin = catalog.find(kind: "runtime", name: runtime.type) else {
            return Check(name: name, result: .failed, detail: "no runtime plugin \(runtime.type)")
        }
        do {
            _ = try RuntimeClient(PluginLoader.shared.load(plugin)).list(labels: ["scion.agent": "true"])
            return Check(name: name, result: .ok, detail: "\(runtime.type) answers")
        } catch {
            return Check(name: name, result: .failed, detail: "\(error)")
        }
    }

    private func tool(_ name: String, _ argv: [String], required: Bool) -> Check {
        guard let output = try? Subprocess.run(argv), output.status == 0 else {
            return Check(name: name, result: required ? .failed : .warning, detail: "\(argv[0]) not found: install it (apt-get install \(argv[0]))")
        }
        return Check(name: name, result: .ok, detail: output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
