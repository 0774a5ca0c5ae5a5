import Yams

/// Turns YAML text into a SettingsNode tree whose nodes carry file:line.
enum SettingsParser {
    /// How many values aliases may add to a file, in all. Real settings
    /// share a few env maps or lists; an alias bomb (a few hundred bytes of
    /// nested aliases that expand to billions of values) is refused fast.
    static let aliasExpansionLimit = 10_000

    /// Counts the values that aliases add while a document is converted.
    private final class AliasBudget {
        var expanded = 0
        var seenAnchors = Set<ObjectIdentifier>()
    }

    static func parse(_ text: String, source: String) throws -> SettingsNode {
        try YAMLAliasScan.check(text, source: source, limit: aliasExpansionLimit)
        let parser: Parser
        let root: Node?
        do {
            // Yams composes an alias as the anchored node itself (shared, not
            // copied); the parser must outlive the conversion, which counts
            // repeated anchors, because nodes hold their anchors weakly.
            // Every scalar is text to the settings schema, so no tag resolution
            // (Yams' default resolver compiles a dozen ICU regexes at first use,
            // about 2 ms of every command); null is recognised below.
            parser = try Parser(yaml: text, resolver: .basic)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw ScionError(.invalidSettings, "\(source):\(describe(error))", cause: error)
        }
        guard let root else { return .emptyMapping(SettingsOrigin(source, line: 1)) }
        let tree = try withExtendedLifetime(parser) {
            try convert(root, source: source, budget: AliasBudget(), aliasStart: nil)
        }
        guard tree.entries != nil || tree.isNull else {
            throw ScionError(.invalidSettings, "\(tree.origin): the settings file must be a mapping of keys to values")
        }
        return tree.isNull ? .emptyMapping(tree.origin) : tree
    }

    private static func convert(
        _ node: Node, source: String, keyOrigin: SettingsOrigin? = nil, budget: AliasBudget, aliasStart: SettingsOrigin?
    ) throws -> SettingsNode {
        let origin = SettingsOrigin(source, line: node.mark?.line)
        var aliasStart = aliasStart
        if aliasStart == nil, let anchor = node.anchor, !budget.seenAnchors.insert(ObjectIdentifier(anchor)).inserted {
            aliasStart = origin  // an anchored value seen again: this copy comes from an alias
        }
        if let aliasStart {
            budget.expanded += 1
            if budget.expanded > aliasExpansionLimit {
                throw ScionError(
                    .invalidSettings,
                    "\(aliasStart): too many YAML aliases (they repeat the values anchored here into more than \(aliasExpansionLimit) values); scion refuses such a file: write the values out, or use fewer aliases")
            }
        }
        switch node {
        case .scalar(let scalar):
            if isNull(scalar) { return SettingsNode(.null, origin: origin, keyOrigin: keyOrigin) }
            return SettingsNode(.scalar(scalar.string), origin: origin, keyOrigin: keyOrigin)
        case .sequence(let sequence):
            return SettingsNode(
                .sequence(try sequence.map { try convert($0, source: source, budget: budget, aliasStart: aliasStart) }),
                origin: origin, keyOrigin: keyOrigin)
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
                entries.append((keyScalar.string, try convert(
                    value, source: source, keyOrigin: keyOrigin, budget: budget, aliasStart: aliasStart)))
            }
            return SettingsNode(.mapping(entries), origin: origin, keyOrigin: keyOrigin)
        case .alias:
            throw ScionError(.invalidSettings, "\(origin): YAML aliases are not supported in settings")
        }
    }

    /// YAML 1.2's core-schema nulls, written plainly (`key:`, `~`, `null`), or tagged `!!null`.
    private static let nullSpellings: Set<String> = ["", "~", "null", "Null", "NULL"]

    private static func isNull(_ scalar: Node.Scalar) -> Bool {
        if scalar.tag.description == Tag.Name.null.rawValue { return true }
        return scalar.style == .plain && nullSpellings.contains(scalar.string)
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
        case .scalar(let text):
            // Strings stay strings: "1", "true", "" are quoted.
            return SettingsScalarText.isPlainSafe(text) ? Node(text) : Node(text, Tag(.str), .doubleQuoted)
        case .sequence(let items): return Node(items.map(yamsNode))
        case .mapping(let entries): return Node(entries.map { (Node($0.key), yamsNode($0.node)) })
        }
    }
}
