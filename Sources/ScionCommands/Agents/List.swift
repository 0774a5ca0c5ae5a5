import ArgumentParser
import ScionCore

struct List: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the grove's agents as a tree (children under their parent) with phase, activity, harness, runtime and branch.",
        aliases: ["ls"])

    @Flag(help: "Only running agents.") var running = false
    @Flag(help: "Include every agent (the default; kept for Scion compatibility).") var all = false
    @Option(help: "Only the descendants of this agent.") var descendants: String?
    @Option(help: "Only the ancestors of this agent (its parent first).") var ancestors: String?
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if descendants != nil && ancestors != nil { throw ValidationError("pass --descendants or --ancestors, not both") }
    }

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        var agents = try orchestrator.list()
        // From the records list just read, not a second read of every record.
        let lineage = Lineage(agents.map { ($0.name, $0.record?.parent) })
        if running { agents = agents.filter { $0.phase == .running } }
        var order = lineage.treeOrder
        for name in [descendants, ancestors].compactMap({ $0 }) where !agents.contains(where: { $0.name == name }) {
            throw ScionError(.notFound, "no agent named \(name) in grove \(orchestrator.grove.root)")
        }
        if let descendants {
            let wanted = Set(lineage.descendants(of: descendants))
            agents = agents.filter { wanted.contains($0.name) }
        }
        if let ancestors {
            let wanted = lineage.ancestors(of: ancestors)
            agents = wanted.compactMap { name in agents.first { $0.name == name } }
            order = wanted.map { ($0, 0) }
        }
        // Tree order: each agent the user started, then its descendants.
        let position = Dictionary(order.enumerated().map { ($1.name, ($0, $1.depth)) }, uniquingKeysWith: { first, _ in first })
        agents.sort { (position[$0.name]?.0 ?? Int.max, $0.name) < (position[$1.name]?.0 ?? Int.max, $1.name) }
        if global.format == .json {
            try Output.json(agents)
            return
        }
        guard !agents.isEmpty else {
            print(descendants.map { "agent \($0) has no descendants" } ?? ancestors.map { "agent \($0) has no ancestors" }
                ?? "no agents; start one with: scion start <agent> \"<task>\"")
            return
        }
        let base = descendants.map { lineage.depth(of: $0) + 1 } ?? 0
        Output.table(
            ["NAME", "PHASE", "ACTIVITY", "HARNESS", "RUNTIME", "BRANCH", "+/-", "AGE", "DETAIL"],
            agents.map { agent in
                let depth = ancestors == nil ? max(0, (position[agent.name]?.1 ?? 0) - base) : 0
                return [
                    String(repeating: "  ", count: max(0, depth - 1)) + (depth > 0 ? "└─ " : "") + agent.name,
                    agent.phase.rawValue, agent.activity?.rawValue ?? "-",
                    agent.record?.harnessConfig ?? "-", agent.record?.runtime ?? "-", agent.record?.branch ?? "-",
                    Self.progressCell(agent.progress),
                    Output.age(agent.record?.startedAt ?? agent.record?.createdAt),
                    agent.problem.map { "problem: \($0)" } ?? agent.activityMessage ?? agent.detail ?? "",
                ]
            })
    }

    /// `+2 -1 *`: commits ahead of and behind its base, `*` for uncommitted files.
    static func progressCell(_ progress: BranchProgress?) -> String {
        guard let progress, progress.ahead != nil || progress.dirty != nil else { return "-" }
        var cell = "+\(progress.ahead ?? 0) -\(progress.behind ?? 0)"
        if progress.dirty == true { cell += " *" }
        return cell
    }
}
