import ArgumentParser
import ScionCore

struct List: BlockingCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the grove's agents with phase, activity, harness, runtime and branch.",
        aliases: ["ls"])

    @Flag(help: "Only running agents.") var running = false
    @Flag(help: "Include every agent (the default; kept for Scion compatibility).") var all = false
    @OptionGroup var global: GlobalOptions

    func runBlocking() throws {
        var agents = try global.orchestrator().list()
        if running { agents = agents.filter { $0.phase == .running } }
        if global.format == .json {
            try Output.json(agents)
            return
        }
        guard !agents.isEmpty else {
            print("no agents; start one with: scion start <agent> \"<task>\"")
            return
        }
        Output.table(
            ["NAME", "PHASE", "ACTIVITY", "HARNESS", "RUNTIME", "BRANCH", "+/-", "AGE", "DETAIL"],
            agents.map { agent in
                [
                    agent.name, agent.phase.rawValue, agent.activity?.rawValue ?? "-",
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
