import Foundation
import ScionPluginKit

/// An agent as `list` shows it: its record reconciled with what its
/// runtime reports and the activity it last reported.
public struct AgentStatus: Sendable, Encodable {
    public var name: String
    public var phase: AgentPhase
    public var activity: Activity?
    public var activityMessage: String?
    public var detail: String?
    public var exitCode: Int?
    public var record: AgentRecord?
    /// What is wrong outside scion's control (drift, leftovers), one
    /// sentence per problem joined by "; ", with how to fix it.
    public var problem: String?
    /// Its branch against its base and its worktree's uncommitted files (issue 13).
    public var progress: BranchProgress?

    enum CodingKeys: String, CodingKey {
        case name, phase, activity, activityMessage = "activity_message", detail, exitCode = "exit_code", problem
        case harnessConfig = "harness_config", harness, profile, runtime, branch, worktree, task, parent, template
        case createdAt = "created_at", startedAt = "started_at", image, handle
        case ahead, behind, dirty
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(phase, forKey: .phase)
        try container.encodeIfPresent(activity, forKey: .activity)
        try container.encodeIfPresent(activityMessage, forKey: .activityMessage)
        try container.encodeIfPresent(detail, forKey: .detail)
        try container.encodeIfPresent(exitCode, forKey: .exitCode)
        try container.encodeIfPresent(problem, forKey: .problem)
        try container.encodeIfPresent(progress?.ahead, forKey: .ahead)
        try container.encodeIfPresent(progress?.behind, forKey: .behind)
        try container.encodeIfPresent(progress?.dirty, forKey: .dirty)
        guard let record else { return }
        try container.encode(record.harnessConfig, forKey: .harnessConfig)
        try container.encode(record.harness, forKey: .harness)
        try container.encode(record.profile, forKey: .profile)
        try container.encode(record.runtime, forKey: .runtime)
        try container.encodeIfPresent(record.branch, forKey: .branch)
        try container.encode(record.worktree, forKey: .worktree)
        try container.encodeIfPresent(record.task, forKey: .task)
        try container.encodeIfPresent(record.parent, forKey: .parent)
        try container.encodeIfPresent(record.template, forKey: .template)
        try container.encodeIfPresent(record.image, forKey: .image)
        try container.encodeIfPresent(record.handle, forKey: .handle)
        try container.encode(record.createdAt, forKey: .createdAt)
        try container.encodeIfPresent(record.startedAt, forKey: .startedAt)
    }
}

extension Orchestrator {
    /// Every agent of the grove, reconciled with its runtime: one `list`
    /// call per runtime entry in use (a runtime's options as the agents'
    /// specs recorded them, so an agent started with another profile is
    /// asked where it runs). The activity of agents on runtimes that do not
    /// share the host's paths (pods) is read through the runtime, never
    /// from the host's folder.
    public func list() throws -> [AgentStatus] {
        let entries = store.all()
        let progress = startProgress(entries.compactMap(\.record))
        restartBrokerIfNeeded(entries.compactMap(\.record))
        // Keyed by runtime entry (Reconciler.key): what it reported.
        var reported: [String: [RuntimeAgent]] = [:]
        let live: Set<AgentPhase> = [.running, .starting, .stopping]
        // An interrupted or failed launch may have left an instance it never
        // recorded: ask its runtime too, by the grove id label.
        let asked = entries.compactMap { $0.record }.filter {
            live.contains($0.phase) || ($0.phase == .error && $0.handle == nil && $0.runtimeName != nil)
        }
        var runtimeOf: [String: (key: String, spec: AgentSpec.Runtime, options: [String: JSONValue])] = [:]
        // Only agents the runtimes are asked about need their spec read.
        for record in asked {
            guard let runtime = store.loadSpecRuntime(record.name) ?? (try? spec(for: record))?.runtime else { continue }
            let options = runtime.options(settings)
            runtimeOf[record.name] = (Reconciler.key(type: runtime.type, options: options), runtime, options)
        }
        var groups: [String: (spec: AgentSpec.Runtime, options: [String: JSONValue], records: [AgentRecord])] = [:]
        for record in asked {
            guard let runtime = runtimeOf[record.name] else { continue }
            groups[runtime.key, default: (runtime.spec, runtime.options, [])].records.append(record)
        }
        // The active profile's runtime too, so instances that no record
        // knows (a lost record) show up.
        if let name = settings.profiles[settings.activeProfile]?.runtime, let entry = settings.runtimes[name],
           drivers.hasRuntime(entry.type, catalog: catalog) {
            let key = Reconciler.key(type: entry.type, options: entry.options)
            if groups[key] == nil {
                groups[key] = (AgentSpec.Runtime(name: name, type: entry.type, options: entry.options), entry.options, [])
            }
        }
        // One driver and one capabilities answer per runtime entry, for the agents' files.
        var clients: [String: any RuntimeDriver] = [:]
        var shares: [String: Bool] = [:]
        for (key, group) in groups.sorted(by: { $0.key < $1.key }) {
            do {
                let client = try runtime(type: group.spec.type, options: group.options, wantedBy: "list")
                clients[key] = client
                shares[key] = (try? client.capabilities())?.sharesHostPaths
                var agents: [RuntimeAgent] = []
                let ids: [String] = group.records.compactMap { $0.groveId } + [grove.id]
                for id in Set(ids).sorted() {
                    agents += try client.list(labels: [Grove.idLabel: id])
                }
                if group.records.contains(where: { $0.groveId == nil }) {
                    agents += try client.list(labels: ["scion.grove_path": grove.directory])
                }
                reported[key] = agents
            } catch {
                logger.warning("cannot ask the \(group.spec.name) runtime about its agents: \(error)")
            }
        }
        let repository = RepositoryView(grove: grove)
        let reconciler = self.reconciler
        var statuses = entries.map { entry in
            guard let record = entry.record else {
                return AgentStatus(
                    name: entry.name, phase: .error, detail: store.isBusy(entry.name) ? "being created" : "interrupted before its record was written; delete it",
                    record: nil)
            }
            let key = runtimeOf[record.name]?.key ?? ""
            let agents = reported[key] ?? []
            let runtimeAgent = record.handle.flatMap { handle in agents.first { $0.handle == handle } }
                ?? agents.first { $0.name == runtimeName(of: record) && reconciler.owns($0, agent: record.name, groveId: record.groveId) }
            var status = reconcile(
                record, runtimeAgent: runtimeAgent, runtimeAnswered: reported[key] != nil,
                eventLog: { self.eventLog(record, client: clients[key], sharesHostPaths: shares[key]) })
            var problems = driftProblems(record, repository: repository).map(\.message)
            if record.handle == nil, let runtimeAgent, runtimeAgent.state != .missing {
                problems.append("an interrupted start left its \(record.runtimeType) instance \(runtimeAgent.name): `scion resume \(record.name)` or `scion delete \(record.name)` removes it")
            }
            status.problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
            return status
        }
        let progressByName = progress.wait()
        for index in statuses.indices {
            statuses[index].progress = progressByName[statuses[index].name]
        }
        // Instances of this grove that no agent folder names.
        let known = Set(entries.map(\.name))
        for (key, agents) in reported.sorted(by: { $0.key < $1.key }) {
            let runtimeName = groups[key]?.spec.name ?? "runtime"
            for agent in agents where agent.labels[Grove.idLabel] == grove.id {
                guard let name = agent.labels["scion.name"], !known.contains(name),
                      !statuses.contains(where: { $0.name == name }) else { continue }
                statuses.append(AgentStatus(
                    name: name, phase: .error, detail: "left over with no record",
                    problem: "the \(runtimeName) instance \(agent.name) has no agent record: `scion delete \(name)` or `scion prune` removes it"))
            }
        }
        return statuses
    }

    /// Ahead/behind its base and the dirty mark of every agent with a branch
    /// and a finished worktree, by agent name. Read on a thread of its own
    /// while the runtimes answer: the dirty check opens every worktree.
    func startProgress(_ records: [AgentRecord]) -> Blocking.Pending<[String: BranchProgress]> {
        let measured = grove.isGlobal ? [] : records.filter { $0.branch != nil && $0.phase != .provisioning }
        let queries = measured.map { record in
            WorktreeManager.ProgressQuery(
                source: WorktreeManager.AgentSource(
                    worktreeName: worktreeName(of: record), worktree: store.worktreePath(record.name), branch: record.branch!),
                baseRef: record.baseRef, baseCommit: record.baseCommit)
        }
        let root = grove.root
        return Blocking.start {
            guard !queries.isEmpty, let repository = WorktreeManager.repositoryRoot(containing: root) else { return [:] }
            let results = WorktreeManager(repositoryPath: repository).progress(queries)
            return Dictionary(zip(measured.map(\.name), results), uniquingKeysWith: { first, _ in first })
        }
    }

    /// One agent, reconciled.
    public func status(_ name: String) throws -> AgentStatus {
        let record = try store.load(name)
        guard let handle = record.handle else { return reconcile(record, runtimeAgent: nil, runtimeAnswered: false) }
        let runtimeAgent = try? runtime(for: record).status(target(record, handle: handle))
        return reconcile(record, runtimeAgent: runtimeAgent, runtimeAnswered: runtimeAgent != nil)
    }

    func reconcile(
        _ record: AgentRecord, runtimeAgent: RuntimeAgent?, runtimeAnswered: Bool, eventLog: (() -> EventLog)? = nil
    ) -> AgentStatus {
        var status = AgentStatus(name: record.name, phase: record.phase, detail: record.error, record: record)
        switch record.phase {
        case .provisioning, .starting, .stopping:
            if !store.isBusy(record.name) {
                status.phase = .error
                status.detail = "interrupted while \(record.phase.rawValue); resume or delete it"
            }
            return status
        case .running:
            break
        default:
            return status
        }
        guard runtimeAnswered else {
            status.detail = "the \(record.runtimeType) runtime did not answer"
            return status
        }
        switch runtimeAgent?.state {
        case .running?, .created?:
            break
        case .stopped?:
            status.phase = .stopped
            status.detail = "stopped outside scion" + (runtimeAgent?.detail.map { ": \($0)" } ?? "")
        case .missing?, nil:
            status.phase = .error
            status.detail = "its \(record.runtimeType) instance is gone; delete or resume it"
                + (lastSyncNote(record).map { "; \($0)" } ?? "")
        }
        status.exitCode = runtimeAgent?.exitCode
        let activity = status.phase == .running ? liveActivity(record, exitCode: status.exitCode, log: eventLog?() ?? self.eventLog(record)) : EventLog(home: record.home).stored
        status.activity = activity?.activity
        status.activityMessage = activity?.message
        return status
    }

    /// Brings the agent's activity up to date from the events it recorded
    /// and its harness's exit status, and runs notify.command when the
    /// agent newly waits for input or completes.
    func liveActivity(_ record: AgentRecord, exitCode: Int?, log: EventLog) -> AgentActivity? {
        let exit = exitCode.map { code in
            ActivityUpdate(
                activity: code == 0 ? .completed : .failed,
                message: "the \(record.harnessConfig) harness exited with status \(code)")
        }
        do {
            let state = try log.refresh(exit: exit) { try harness(record.harness, wantedBy: "agent \(record.name)") }
            if let notify = state.notify {
                notifier.notify(agent: record.name, activity: notify)
                notifyParent(of: record, notify)
            }
            return state.activity
        } catch {
            logger.warning("cannot update agent \(record.name)'s activity: \(error)")
            return log.stored
        }
    }
}
