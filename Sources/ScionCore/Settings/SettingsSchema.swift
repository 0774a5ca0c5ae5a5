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
        "plugins": .mapping([
            "paths": .list, "isolation": .leaf, "timeout_seconds": .leaf, "memory_limit_mb": .leaf,
            "overrides": .mapping(["*": .mapping(["isolation": .leaf])]),
        ]),
        "git": .mapping(["author": .mapping(["name": .leaf, "email": .leaf])]),
        "tmux": .mapping(["config": .leaf, "use_user_config": .leaf]),
        "notify": .mapping(["command": .list]),
        // Issue 11: what agents may start (AgentLimits) and how a parent hears of its children.
        "agents": .mapping([
            "max_children": .leaf, "max_depth": .leaf, "max_per_grove": .leaf,
            "child_profiles": .list, "child_harness_configs": .list, "notify_parent": .leaf,
        ]),
        // Issue 13: bootstrapping an agent's worktree.
        "worktree": .mapping(["copy": .list, "symlink": .list, "setup": .list, "setup_timeout": .leaf]),
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

    /// The schema of the value at `path`, nil when unknown.
    func schema(at path: [String]) -> SettingsSchema? {
        var schema = self
        for key in path {
            switch schema {
            case .open: return .open
            case .leaf, .list: return nil
            case .mapping(let known):
                guard let next = known[key] ?? known["*"] else { return nil }
                schema = next
            }
        }
        return schema
    }

    /// Nil when `path` is a key scion knows (or lies in a mapping whose keys
    /// are someone else's); else a sentence naming the keys known there.
    func unknownPart(of path: [String]) -> String? {
        var schema = self
        for (index, key) in path.enumerated() {
            let here = path[...index].joined(separator: ".")
            switch schema {
            case .open: return nil
            case .leaf, .list:
                return "unknown settings key \"\(path.joined(separator: "."))\": \(path[..<index].joined(separator: ".")) takes \(schema.isList ? "a list" : "a single value"), not keys"
            case .mapping(let known):
                if let next = known[key] ?? known["*"] {
                    schema = next
                    continue
                }
                let names = known.keys.filter { $0 != "*" }.sorted()
                let parent = index == 0 ? "the top level" : path[..<index].joined(separator: ".")
                let guess = Self.closest(key, in: names).map { "did you mean \"\($0)\"? " } ?? ""
                return "unknown settings key \"\(here)\": \(guess)\(parent) takes \(names.joined(separator: ", "))"
            }
        }
        return nil
    }

    private var isList: Bool {
        if case .list = self { return true }
        return false
    }

    /// The known name within two edits of `key`, if one is.
    static func closest(_ key: String, in names: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let scored = names.map { ($0, distance(Array(key), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
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
