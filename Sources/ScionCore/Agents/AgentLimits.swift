/// `agents.*` settings: how many agents agents may start, how deep, with
/// which profiles and harness configs, and whether a parent is told when
/// a child completes or waits for input. The limits apply to starts made
/// by an agent (SCION_AGENT set); `max_per_grove` to every start.
public struct AgentLimits: Sendable, Equatable {
    /// Children one agent may have at once (nil: no limit).
    public var maxChildren: Int?
    /// How deep the tree may grow: 1 lets the user's agents start children
    /// but not grandchildren (nil: no limit).
    public var maxDepth: Int?
    /// Agents in the grove at once, whoever starts them (nil: no limit).
    public var maxPerGrove: Int?
    /// Profiles a child may use (nil: any).
    public var childProfiles: [String]?
    /// Harness configs a child may use (nil: any).
    public var childHarnessConfigs: [String]?
    /// Type a notice into the parent's pane when a child completes or
    /// waits for input (default true).
    public var notifyParent: Bool

    public static let keys = (
        maxChildren: "agents.max_children", maxDepth: "agents.max_depth", maxPerGrove: "agents.max_per_grove",
        childProfiles: "agents.child_profiles", childHarnessConfigs: "agents.child_harness_configs",
        notifyParent: "agents.notify_parent")

    public init(
        maxChildren: Int? = nil, maxDepth: Int? = nil, maxPerGrove: Int? = nil, childProfiles: [String]? = nil,
        childHarnessConfigs: [String]? = nil, notifyParent: Bool = true
    ) {
        self.maxChildren = maxChildren
        self.maxDepth = maxDepth
        self.maxPerGrove = maxPerGrove
        self.childProfiles = childProfiles
        self.childHarnessConfigs = childHarnessConfigs
        self.notifyParent = notifyParent
    }

    init(_ root: SettingsReader) throws {
        func count(_ key: String) throws -> Int? {
            guard let text = try root.string(key) else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw root.invalid(key, "must be a whole number of 0 or more")
            }
            return value
        }
        self.init(
            maxChildren: try count(Self.keys.maxChildren), maxDepth: try count(Self.keys.maxDepth),
            maxPerGrove: try count(Self.keys.maxPerGrove), childProfiles: try root.strings(Self.keys.childProfiles),
            childHarnessConfigs: try root.strings(Self.keys.childHarnessConfigs),
            notifyParent: try root.bool(Self.keys.notifyParent) ?? true)
    }
}
