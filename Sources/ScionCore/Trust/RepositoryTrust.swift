import Foundation
import Logging

/// A value from a repository's own `.scion/` that scion ignored because
/// the file it came from is not trusted.
public struct UntrustedValue: Sendable, Equatable, Encodable {
    /// The settings key (`plugins.paths`) or template field (`template reviewer: volumes`).
    public var key: String
    /// file:line.
    public var origin: String
    /// What it could do: "would load and run plugin libraries".
    public var reason: String

    public init(key: String, origin: String, reason: String) {
        self.key = key
        self.origin = origin
        self.reason = reason
    }
}

/// What a repository's own settings may do before the user trusts them.
///
/// A grove's `.scion/settings.yaml` and `.scion/templates/*` arrive with a
/// clone: they are someone else's code. Until `scion trust` records their
/// content, scion skips exactly the values that could run code on the
/// host, load a library, read or mount a host path, or make scion write or
/// delete on the host; everything else (profiles, harness configs, images,
/// resources, env for container agents...) keeps working. The user's own
/// `~/.scion`, `SCION_*` variables and flags are always trusted.
public enum RepositoryTrust {
    /// Runtime keys that only tune a container engine the user chose.
    static let harmlessRuntimeKeys: Set<String> = ["type", "init", "start_timeout", "api_version", "sync_interval"]

    /// Removes from an untrusted grove settings layer every value that
    /// needs trust. `hostProcessProfiles` are the profiles whose agents run
    /// as host processes (the local runtime): for them, the command
    /// (`args`) and environment the repository sets are host code too;
    /// `harnessConfigsRunOnHost` says the same for the shared
    /// harness_configs (the active profile runs on the host).
    static func restrict(
        _ layer: SettingsNode, hostProcessProfiles: Set<String>, harnessConfigsRunOnHost: Bool
    ) -> (layer: SettingsNode, skipped: [UntrustedValue]) {
        var skipped: [UntrustedValue] = []
        var layer = layer
        func drop(_ path: [String], _ reason: String) {
            guard let node = layer.node(at: path), !node.isNull else { return }
            skipped.append(UntrustedValue(
                key: path.joined(separator: "."), origin: (node.keyOrigin ?? node.origin).description, reason: reason))
            layer = layer.removing(at: path[...])
        }
        let mounts = "would mount host paths into agents"
        let hostCommand = "would choose the command a host-process (local) agent runs"
        let hostEnvironment = "would set the environment of a host-process (local) agent (LD_PRELOAD, PATH...)"
        drop(["plugins", "paths"], "would load and run plugin libraries from these folders")
        drop(["notify", "command"], "would run a command on the host")
        drop(["tmux", "config"], "would copy a host file into every agent session, where tmux can run commands from it")
        drop(["worktree", "symlink"], "would let agents write folders of your checkout whose programs you run (node_modules/.bin, .venv/bin)")
        if harnessConfigsRunOnHost { drop(["worktree", "setup"], "would run a command on the host before a local agent starts") }
        for (name, runtime) in layer["runtimes"]?.entries ?? [] {
            for (key, value) in runtime.entries ?? [] where !harmlessRuntimeKeys.contains(key) {
                switch key {
                case "network" where isHarmlessNetwork(value.scalar):
                    continue
                case "network":
                    drop(["runtimes", name, key], "would join the host's or another container's network namespace")
                case "state_dir":
                    drop(["runtimes", name, key], "would make scion create and delete folders on the host")
                case "host":
                    drop(["runtimes", name, key], "would send agents, and the credentials they get, to another engine")
                default:
                    drop(["runtimes", name, key], "is a runtime plugin's own setting, which scion cannot vet")
                }
            }
        }
        for (profile, entry) in layer["profiles"]?.entries ?? [] {
            drop(["profiles", profile, "volumes"], mounts)
            let onHost = hostProcessProfiles.contains(profile)
            if onHost { drop(["profiles", profile, "env"], hostEnvironment) }
            for (config, _) in entry["harness_overrides"]?.entries ?? [] {
                drop(["profiles", profile, "harness_overrides", config, "volumes"], mounts)
                if onHost {
                    drop(["profiles", profile, "harness_overrides", config, "args"], hostCommand)
                    drop(["profiles", profile, "harness_overrides", config, "env"], hostEnvironment)
                }
            }
        }
        for (config, _) in layer["harness_configs"]?.entries ?? [] {
            drop(["harness_configs", config, "volumes"], mounts)
            if harnessConfigsRunOnHost {
                drop(["harness_configs", config, "args"], hostCommand)
                drop(["harness_configs", config, "env"], hostEnvironment)
            }
        }
        return (layer, skipped)
    }

    /// `none`, `bridge` or a network's plain name; not `host`,
    /// `container:<id>`, `ns:<path>` or other modes that reach outside.
    static func isHarmlessNetwork(_ value: String?) -> Bool {
        guard let value else { return true }
        if value.isEmpty { return true }
        guard value != "host" else { return false }
        return value.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
    }

    /// Template layers without what an untrusted grove template may not
    /// do: mount its volumes and, for a host-process agent, set its
    /// environment or put files (dotfiles a shell runs) into its home.
    public static func restrict(_ layers: TemplateLayers, hostProcess: Bool) -> (layers: TemplateLayers, skipped: [UntrustedValue]) {
        var layers = layers
        var skipped: [UntrustedValue] = []
        for index in layers.layers.indices where !layers.layers[index].trusted {
            var template = layers.layers[index]
            let origin = (template.directory ?? template.name) + "/" + Template.configFile
            if !template.volumes.isEmpty {
                skipped.append(UntrustedValue(key: "template \(template.name): volumes", origin: origin, reason: "would mount host paths into agents"))
                template.volumes = []
            }
            if hostProcess, !template.env.isEmpty {
                skipped.append(UntrustedValue(
                    key: "template \(template.name): env", origin: origin,
                    reason: "would set the environment of a host-process (local) agent"))
                template.env = [:]
            }
            if hostProcess, template.homeDirectory != nil, !template.homeFiles.isEmpty {
                skipped.append(UntrustedValue(
                    key: "template \(template.name): home/", origin: (template.directory ?? "") + "/" + Template.homeFolder,
                    reason: "would put files (dotfiles a shell runs) into the home of a host-process (local) agent"))
                template.copiesHome = false
            }
            layers.layers[index] = template
        }
        return (layers, skipped)
    }

    /// Says once per command, on stderr, what was skipped and how to allow it.
    public static func announce(_ skipped: [UntrustedValue], file: String? = nil, state: TrustStore.State? = nil) {
        guard !skipped.isEmpty else { return }
        let what = file ?? "this repository's .scion templates"
        let why = state == .changed ? "changed since you trusted it" : "not trusted"
        let items = skipped.map { "\n  \($0.origin): \($0.key) \($0.reason)" }.joined()
        TrustNotice.shared.announce(
            "\(what) is \(why), so scion ignored what could run code or reach files on the host:\(items)\nRead the repository's .scion files, then run `scion trust` to allow them (`scion trust --show` lists what is trusted).")
    }

}

/// Prints each trust message once per process, however often settings
/// are loaded.
public final class TrustNotice: @unchecked Sendable {
    public static let shared = TrustNotice()
    private let lock = NSLock()
    private var said: Set<String> = []
    private let logger = Logger(label: "scion.trust")

    public func announce(_ message: String) {
        let isNew = lock.withLock { said.insert(message).inserted }
        if isNew { logger.warning("\(message)") }
    }
}

extension SettingsNode {
    /// The tree without the value at `path`.
    func removing(at path: ArraySlice<String>) -> SettingsNode {
        guard let key = path.first, var entries = self.entries,
              let index = entries.firstIndex(where: { $0.key == key })
        else { return self }
        if path.count == 1 {
            entries.remove(at: index)
        } else {
            entries[index].node = entries[index].node.removing(at: path.dropFirst())
        }
        return SettingsNode(.mapping(entries), origin: origin, keyOrigin: keyOrigin)
    }
}
