/// Who started whom: the `parent` of each record, as a tree. Built from the
/// records of one grove; a parent that is gone makes its children roots.
public struct Lineage: Sendable {
    /// Agent name to its parent's name (only parents that exist).
    public let parents: [String: String]
    /// The names, sorted, each parent's children sorted.
    private let children: [String: [String]]
    private let names: [String]

    public init(_ pairs: [(name: String, parent: String?)]) {
        let known = Set(pairs.map(\.name))
        var parents: [String: String] = [:]
        var children: [String: [String]] = [:]
        for pair in pairs {
            guard let parent = pair.parent, parent != pair.name, known.contains(parent) else { continue }
            parents[pair.name] = parent
            children[parent, default: []].append(pair.name)
        }
        // A cycle (hand-edited records) is broken where it closes.
        for name in parents.keys.sorted() {
            var seen: Set<String> = [name]
            var current = parents[name]
            while let step = current {
                if seen.contains(step) {
                    if let parent = parents.removeValue(forKey: name) { children[parent]?.removeAll { $0 == name } }
                    break
                }
                seen.insert(step)
                current = parents[step]
            }
        }
        self.parents = parents
        self.children = children.mapValues { $0.sorted() }
        self.names = pairs.map(\.name).sorted()
    }

    public init(store: AgentStore) {
        self.init(store.all().map { ($0.name, $0.record?.parent) })
    }

    public func children(of name: String) -> [String] { children[name] ?? [] }

    /// Every descendant, depth first (a child before its own children).
    public func descendants(of name: String) -> [String] {
        children(of: name).flatMap { [$0] + descendants(of: $0) }
    }

    /// The parent, the grandparent... up to a root.
    public func ancestors(of name: String) -> [String] {
        var result: [String] = []
        var current = parents[name]
        while let parent = current {
            result.append(parent)
            current = parents[parent]
        }
        return result
    }

    /// 0 for an agent the user started, 1 for its child...
    public func depth(of name: String) -> Int { ancestors(of: name).count }

    public func isDescendant(_ name: String, of ancestor: String) -> Bool { ancestors(of: name).contains(ancestor) }

    /// Every name in tree order: each root (sorted), then its descendants.
    public var treeOrder: [(name: String, depth: Int)] {
        names.filter { parents[$0] == nil }.flatMap { root in
            [(root, 0)] + descendants(of: root).map { ($0, depth(of: $0)) }
        }
    }
}
