/// The keys scion knows, for warnings about unknown ones. `*` stands for any
/// name (a profile, a runtime, a harness config); `open` marks a mapping
/// whose keys belong to someone else (env, a runtime plugin's own keys).
indirect enum SettingsSchema {
    case leaf
    case open
    case list
    case mapping([String: SettingsSchema])

    static let harnessSettings: SettingsSchema = .mapping([
        "harness": .leaf, "image": .leaf, "model": .leaf, "args": .list, "env": .open,
        "volumes": .list, "auth_selected_type": .leaf,
    ])

    static let root: SettingsSchema = .mapping([
        "schema_version": .leaf, "active_profile": .leaf, "default_harness_config": .leaf,
        "default_template": .leaf, "image_registry": .leaf,
        "runtimes": .mapping(["*": .open]),
        "profiles": .mapping(["*": .mapping([
            "runtime": .leaf, "env": .open, "volumes": .list, "image_registry": .leaf,
            "resources": .mapping(["memory": .leaf, "cpus": .leaf]),
            "harness_overrides": .mapping(["*": harnessSettings]),
        ])]),
        "harness_configs": .mapping(["*": harnessSettings]),
        "plugins": .mapping(["paths": .list]),
        "git": .mapping(["author": .mapping(["name": .leaf, "email": .leaf])]),
        "tmux": .mapping(["config": .leaf, "use_user_config": .leaf]),
        "notify": .mapping(["command": .list]),
    ])

    /// A template's scion-agent.yaml (`harness_config` is accepted for
    /// `default_harness_config`).
    static let template: SettingsSchema = .mapping([
        "description": .leaf, "default_harness_config": .leaf, "harness_config": .leaf, "model": .leaf,
        "env": .open, "volumes": .list,
    ])

    /// Top-level keys that a `SCION_<KEY>` environment variable may set.
    static var topLevelKeys: Set<String> {
        guard case .mapping(let keys) = root else { return [] }
        return Set(keys.keys)
    }

    /// Warnings for keys this schema does not know, with file:line.
    func unknownKeys(in node: SettingsNode, path: String = "") -> [String] {
        guard case .mapping(let known) = self, let entries = node.entries else { return [] }
        return entries.flatMap { key, child -> [String] in
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard let schema = known[key] ?? known["*"] else {
                return ["\(child.keyOrigin ?? child.origin): unknown settings key \"\(childPath)\" (ignored)"]
            }
            return schema.unknownKeys(in: child, path: childPath)
        }
    }
}
