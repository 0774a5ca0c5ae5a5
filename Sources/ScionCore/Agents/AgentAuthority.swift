import Foundation

/// What the agent a command acts for may do. The acting agent is
/// `SCION_AGENT`: scion sets it in the local agents it launches, and the
/// grove broker sets it for each request from the socket the request came
/// on (a container agent cannot choose it). With no acting agent (the
/// user), everything is allowed.
///
/// An agent may start children (within `agents.*` limits), list, look at
/// and message the agents of its own grove, and wait on, stop, resume and
/// delete its own descendants; nothing in another grove, nothing of its
/// ancestors or siblings, and not the host's settings, trust or templates.
/// Every refusal is one sentence (exit 15) and a line in the agent's journal.
public struct AgentAuthority: Sendable {
    public static let agentVariable = "SCION_AGENT"
    public static let groveVariable = "SCION_GROVE"
    /// Set by the grove broker in the scion it runs for a container agent
    /// (whose working directory is then that agent's worktree on the host).
    public static let brokeredVariable = "SCION_BROKERED"

    /// The acting agent, nil for the user.
    public let actor: String?
    /// A container agent's command run on the host by the broker.
    public let brokered: Bool

    public init(environment: [String: String]) {
        actor = environment[Self.agentVariable].flatMap { $0.isEmpty ? nil : $0 }
        brokered = actor != nil && environment[Self.brokeredVariable] == "1"
    }

    public init(actor: String?, brokered: Bool = false) {
        self.actor = actor
        self.brokered = brokered
    }

    /// A container agent reads host files only in its own worktree (the
    /// broker's working directory for it): `--task-file /etc/shadow` would
    /// hand it a host file through a child's task.
    public func requireOwnFile(_ path: String, workingDirectory: String) throws {
        guard let actor, brokered else { return }
        let absolute = path.hasPrefix("/") ? path : workingDirectory + "/" + path
        let resolved = URL(fileURLWithPath: absolute).resolvingSymlinksInPath().path
        let root = URL(fileURLWithPath: workingDirectory).resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root + "/") else {
            throw ScionError(.notPermitted, "agent \(actor) may read files only in its own worktree (\(root)), not \(path)")
        }
    }

    /// Agents may read the `agents.*` settings (their limits), not the
    /// rest, which may hold the user's keys in `env`.
    public func requireReadableSetting(_ key: String?) throws {
        guard let actor else { return }
        if let key, key == "agents" || key.hasPrefix("agents.") { return }
        throw ScionError(
            .notPermitted,
            "agent \(actor) may read only the agents.* settings (`scion config get agents`), not \(key ?? "every setting")")
    }

    /// Refuses an operation reserved to the user (settings, trust, templates).
    public func requireUser(_ operation: String) throws {
        guard let actor else { return }
        throw ScionError(
            .notPermitted,
            "agent \(actor) may not \(operation): that is for the user on the host (agents may start children, message and look at the grove's agents, and wait on, stop or delete their own descendants)")
    }

    /// Refuses a grove other than the acting agent's own.
    public func requireOwnGrove(_ grove: Grove, own: String?) throws {
        guard let actor else { return }
        let mine = own.map { (($0 as NSString).lastPathComponent == ".scion" ? $0 : $0 + "/.scion") }
            .map { ($0 as NSString).standardizingPath }
        guard let mine, mine == grove.directory else {
            throw ScionError(
                .notPermitted,
                "agent \(actor) may act only in its own grove\(own.map { " (\($0))" } ?? ""), not in \(grove.directory)")
        }
    }

    /// Refuses `name` unless it is a descendant of the acting agent.
    /// `lineage` is read only when an agent acts (reading it decodes every record).
    public func requireDescendant(_ name: String, lineage readLineage: @autoclosure () -> Lineage, to operation: String, journal: AgentJournal? = nil) throws {
        guard let actor else { return }
        let lineage = readLineage()
        guard !lineage.isDescendant(name, of: actor) else { return }
        let whose = name == actor ? "itself" : lineage.isDescendant(actor, of: name) ? "its ancestor \(name)" : name
        let error = ScionError(
            .notPermitted,
            "agent \(actor) may \(operation) only its own descendants, not \(whose)\(lineage.descendants(of: actor).isEmpty ? "" : " (its descendants: \(lineage.descendants(of: actor).joined(separator: ", ")))")")
        journal?.refused(error.message)
        throw error
    }

    /// Refuses a start that the `agents.*` limits do not allow. `parent`
    /// is the acting agent (nil for the user: only `max_per_grove` applies).
    public func checkStart(
        name: String, profile: String, harnessConfig: String, limits: AgentLimits, lineage readLineage: @autoclosure () -> Lineage,
        groveCount: @autoclosure () -> Int, journal: AgentJournal?
    ) throws {
        func refuse(_ sentence: String, key: String) throws -> Never {
            let error = ScionError(.notPermitted, "cannot start agent \(name): \(sentence) (settings \(key))")
            journal?.refused(error.message)
            throw error
        }
        if let limit = limits.maxPerGrove {
            let count = groveCount()
            if count >= limit { try refuse("the grove already has \(count) agents, its limit", key: AgentLimits.keys.maxPerGrove) }
        }
        guard let actor else { return }
        let lineage = readLineage()
        if let limit = limits.maxChildren {
            let children = lineage.children(of: actor)
            if children.count >= limit {
                try refuse("agent \(actor) already has \(children.count) children (\(children.joined(separator: ", "))), its limit; delete one first", key: AgentLimits.keys.maxChildren)
            }
        }
        if let limit = limits.maxDepth, lineage.depth(of: actor) + 1 > limit {
            try refuse("a child of \(actor) would be \(lineage.depth(of: actor) + 1) levels deep, more than the limit of \(limit)", key: AgentLimits.keys.maxDepth)
        }
        if let allowed = limits.childProfiles, !allowed.contains(profile) {
            try refuse("children may use the profiles \(allowed.joined(separator: ", ")), not \(profile)", key: AgentLimits.keys.childProfiles)
        }
        if let allowed = limits.childHarnessConfigs, !allowed.contains(harnessConfig) {
            try refuse("children may use the harness configs \(allowed.joined(separator: ", ")), not \(harnessConfig)", key: AgentLimits.keys.childHarnessConfigs)
        }
    }
}
