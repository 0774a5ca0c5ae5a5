import ArgumentParser
import ScionCore

struct List: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
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
            ["NAME", "PHASE", "ACTIVITY", "HARNESS", "RUNTIME", "BRANCH", "AGE", "DETAIL"],
            agents.map { agent in
                [
                    agent.name, agent.phase.rawValue, agent.activity?.rawValue ?? "-",
                    agent.record?.harnessConfig ?? "-", agent.record?.runtime ?? "-", agent.record?.branch ?? "-",
                    Output.age(agent.record?.startedAt ?? agent.record?.createdAt),
                    agent.problem.map { "problem: \($0)" } ?? agent.activityMessage ?? agent.detail ?? "",
                ]
            })
    }
}
