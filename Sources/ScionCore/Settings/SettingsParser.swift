import Yams

/// Turns YAML text into a SettingsNode tree whose nodes carry file:line.
enum SettingsParser {
    static func parse(_ text: String, source: String) throws -> SettingsNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ScionError(.invalidSettings, "\(source):\(describe(error))", cause: error)
        }
        guard let root else { return .emptyMapping(SettingsOrigin(source, line: 1)) }
        let tree = try convert(root, source: source)
        guard tree.entries != nil || tree.isNull else {
            throw ScionError(.invalidSettings, "\(tree.origin): the settings file must be a mapping of keys to values")
        }
        return tree.isNull ? .emptyMapping(tree.origin) : tree
    }

    private static func convert(_ node: Node, source: String, keyOrigin: SettingsOrigin? = nil) throws -> SettingsNode {
        let origin = SettingsOrigin(source, line: node.mark?.line)
        switch node {
        case .scalar(let scalar):
            if scalar.tag.description == Tag.Name.null.rawValue { return SettingsNode(.null, origin: origin, keyOrigin: keyOrigin) }
            return SettingsNode(.scalar(scalar.string), origin: origin, keyOrigin: keyOrigin)
        case .sequence(let sequence):
            return SettingsNode(.sequence(try sequence.map { try convert($0, source: source) }), origin: origin, keyOrigin: keyOrigin)
        case .mapping(let mapping):
            var entries: [(key: String, node: SettingsNode)] = []
            for (key, value) in mapping {
                let keyOrigin = SettingsOrigin(source, line: key.mark?.line)
                guard case .scalar(let keyScalar) = key else {
                    throw ScionError(.invalidSettings, "\(keyOrigin): a settings key must be plain text")
                }
                if entries.contains(where: { $0.key == keyScalar.string }) {
                    throw ScionError(.invalidSettings, "\(keyOrigin): key \"\(keyScalar.string)\" appears twice in the same mapping")
                }
                entries.append((keyScalar.string, try convert(value, source: source, keyOrigin: keyOrigin)))
            }
            return SettingsNode(.mapping(entries), origin: origin, keyOrigin: keyOrigin)
        case .alias:
            throw ScionError(.invalidSettings, "\(origin): YAML aliases are not supported in settings")
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let around = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return "\(mark.line):\(mark.column): malformed YAML: \(problem)\(around)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return "\(context.mark.line): key \(keys) appears twice in the mapping that starts here"
        default:
            return " malformed YAML: \(error)"
        }
    }

    /// YAML text for a tree (used when `config set` rewrites a file).
    static func render(_ node: SettingsNode) throws -> String {
        try Yams.serialize(node: yamsNode(node), sortKeys: false)
    }

    private static func yamsNode(_ node: SettingsNode) -> Node {
        switch node.value {
        case .null: return Node("null", Tag(.null))
        case .scalar(let text): return Node(text)
        case .sequence(let items): return Node(items.map(yamsNode))
        case .mapping(let entries): return Node(entries.map { (Node($0.key), yamsNode($0.node)) })
        }
    }
}
