/// Where a settings value came from: a file and line, an environment
/// variable, a command-line flag, or the built-in defaults.
public struct SettingsOrigin: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int?

    public init(_ source: String, line: Int? = nil) {
        self.source = source
        self.line = line
    }

    public static let builtIn = SettingsOrigin("built-in defaults")

    public var description: String { line.map { "\(source):\($0)" } ?? source }
}

/// A settings document as a tree whose every node remembers its origin, so
/// that layers can be merged and any value traced back (`--show-origin`,
/// error messages with file:line).
public struct SettingsNode: Sendable {
    public indirect enum Value: Sendable {
        case null
        case scalar(String)
        case sequence([SettingsNode])
        /// Keys in document order.
        case mapping([(key: String, node: SettingsNode)])
    }

    public var value: Value
    public var origin: SettingsOrigin
    /// For a mapping entry: the origin of the key itself (its line).
    public var keyOrigin: SettingsOrigin?

    public init(_ value: Value, origin: SettingsOrigin, keyOrigin: SettingsOrigin? = nil) {
        self.value = value
        self.origin = origin
        self.keyOrigin = keyOrigin
    }

    public static func emptyMapping(_ origin: SettingsOrigin) -> SettingsNode {
        SettingsNode(.mapping([]), origin: origin)
    }

    public var scalar: String? {
        if case .scalar(let text) = value { return text }
        return nil
    }

    public var entries: [(key: String, node: SettingsNode)]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    public var items: [SettingsNode]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    public subscript(key: String) -> SettingsNode? {
        entries?.last { $0.key == key }?.node
    }

    /// The node at a dotted path such as `profiles.local.runtime`.
    public func node(at path: [String]) -> SettingsNode? {
        path.reduce(Optional(self)) { node, key in node?[key] }
    }

    /// Deep merge: mappings merge key by key; anything else from `overlay`
    /// replaces what was here.
    public func merged(with overlay: SettingsNode) -> SettingsNode {
        guard case .mapping(var base) = value, case .mapping(let top) = overlay.value else { return overlay }
        for (key, node) in top {
            if let index = base.firstIndex(where: { $0.key == key }) {
                base[index].node = base[index].node.merged(with: node)
            } else {
                base.append((key, node))
            }
        }
        return SettingsNode(.mapping(base), origin: overlay.origin, keyOrigin: keyOrigin ?? overlay.keyOrigin)
    }

    /// Sets the value at `path`, creating mappings along the way.
    public func setting(_ leaf: SettingsNode, at path: ArraySlice<String>) -> SettingsNode {
        guard let key = path.first else { return leaf }
        var entries = self.entries ?? []
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].node = entries[index].node.setting(leaf, at: path.dropFirst())
        } else {
            entries.append((key, SettingsNode.emptyMapping(leaf.origin).setting(leaf, at: path.dropFirst())))
        }
        return SettingsNode(.mapping(entries), origin: origin, keyOrigin: keyOrigin)
    }

    /// Every leaf as a dotted key with its value and origin, in order.
    public func flattened(prefix: String = "") -> [(key: String, value: String, origin: SettingsOrigin)] {
        switch value {
        case .mapping(let entries):
            if entries.isEmpty, !prefix.isEmpty { return [(prefix, "{}", origin)] }
            return entries.flatMap { $0.node.flattened(prefix: prefix.isEmpty ? $0.key : "\(prefix).\($0.key)") }
        case .sequence(let items):
            return [(prefix, "[" + items.map { $0.scalar ?? "…" }.joined(separator: ", ") + "]", origin)]
        case .scalar(let text):
            return [(prefix, text, origin)]
        case .null:
            return [(prefix, "null", origin)]
        }
    }
}
