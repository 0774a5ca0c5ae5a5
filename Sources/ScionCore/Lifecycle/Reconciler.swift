import Foundation
import Logging
import ScionPluginKit

/// Reconciles what an agent's record says the lifecycle made (its intents:
/// the runtime name, the worktree name, the branch and whether scion created
/// it) with what really exists, so a command killed at any point leaves
/// nothing that `delete` cannot find. Everything is found by names derived
/// from the agent and by the grove's id label, never by a handle alone.
struct Reconciler {
    let orchestrator: Orchestrator
    var grove: Grove { orchestrator.grove }
    var store: AgentStore { orchestrator.store }
    let logger = Logger(label: "scion.reconciler")

    /// How long after a killed start `delete` keeps looking for an instance
    /// the engine may still be creating for the dead command.
    static let settleWindow: TimeInterval = 2
    /// A start interrupted longer ago than this has settled.
    static let recentStart: TimeInterval = 15

    // MARK: runtime instances

    /// True when the runtime's labels show `instance` is agent `name` of
    /// this grove (the id it was created with, or this grove's path for
    /// instances older than grove ids).
    func owns(_ instance: RuntimeAgent, agent name: String, groveId: String?) -> Bool {
        guard instance.labels["scion.name"] == name else { return false }
        if let id = instance.labels[Grove.idLabel] { return id == (groveId ?? grove.id) }
        return instance.labels["scion.grove_path"] == grove.directory
    }

    /// The record's instance found by its recorded runtime name (for a
    /// handle that was never saved), if it exists and is this agent's.
    func instanceByName(_ record: AgentRecord) -> (any RuntimeDriver, RuntimeAgent)? {
        guard record.runtimeName != nil, let client = try? orchestrator.runtime(for: record) else { return nil }
        guard let instance = try? client.status(orchestrator.target(record, handle: "")),
              instance.state != .missing, !instance.handle.isEmpty,
              owns(instance, agent: record.name, groveId: record.groveId)
        else { return nil }
        return (client, instance)
    }

    /// Runs the spec; when the runtime says the name is taken by this
    /// agent's own previous instance (a start or delete that was killed
    /// before it saved or removed it), removes that instance and runs again.
    func run(
        _ spec: RunSpec, record: AgentRecord, runtime: any RuntimeDriver, progress: ((ProgressEvent) -> Void)?
    ) throws -> RunResult {
        do {
            return try runtime.run(spec, progress: progress)
        } catch let error as ScionError where error.code == .alreadyExists {
            guard let (client, instance) = instanceByName(record) else { throw error }
            logger.info("agent \(record.name): removing its previous \(record.runtimeType) instance \(instance.name), left by an interrupted command")
            try client.delete(orchestrator.target(record, handle: instance.handle))
            return try runtime.run(spec, progress: progress)
        }
    }

    /// Removes the record's runtime instance: by its handle, and by its
    /// recorded name when a launch may have made one it never recorded.
    func deleteInstance(_ record: AgentRecord) throws {
        if let handle = record.handle {
            do {
                try orchestrator.runtime(for: record).delete(orchestrator.target(record, handle: handle))
            } catch let error as ScionError where error.code == .notFound {
                logger.debug("agent \(record.name): runtime instance already gone")
            }
        }
        let unsettled: Set<AgentPhase> = [.starting, .error, .provisioning]
        guard unsettled.contains(record.phase), record.runtimeName != nil else { return }
        if let (client, instance) = instanceByName(record) {
            try client.delete(orchestrator.target(record, handle: instance.handle))
        }
        // The engine may still be creating what a start killed a moment
        // ago asked for (its request or child process outlives it).
        guard record.phase == .starting, Date().timeIntervalSince(record.updatedAt) < Self.recentStart else { return }
        let deadline = Date().addingTimeInterval(Self.settleWindow)
        while Date() < deadline {
            usleep(100_000)
            if let (client, instance) = instanceByName(record) {
                try client.delete(orchestrator.target(record, handle: instance.handle))
            }
        }
    }

    /// Best effort, for roll-backs.
    func removeInstance(_ record: AgentRecord) {
        do {
            try deleteInstance(record)
        } catch {
            logger.warning("agent \(record.name): cannot remove its runtime instance: \(error)")
        }
    }

    /// The runtimes of the configured profiles whose plugin is installed,
    /// and those the agents' specs recorded (settings may have changed
    /// since): (settings name, driver, options), one per distinct entry.
    func listableRuntimes() -> [(name: String, client: any RuntimeDriver, options: [String: JSONValue])] {
        let settings = orchestrator.settings
        var entries: [(name: String, type: String, options: [String: JSONValue])] = []
        for name in Set(settings.profiles.values.map(\.runtime)).sorted() {
            if let runtime = settings.runtimes[name] { entries.append((name, runtime.type, runtime.options)) }
        }
        for record in store.all().compactMap(\.record) {
            if let spec = try? store.loadSpec(record.name) {
                entries.append((spec.runtime.name, spec.runtime.type, spec.runtimeOptions(settings)))
            }
        }
        var seen = Set<String>()
        return entries.compactMap { entry in
            guard seen.insert(Self.key(type: entry.type, options: entry.options)).inserted,
                  orchestrator.drivers.hasRuntime(entry.type, catalog: orchestrator.catalog),
                  let client = try? orchestrator.runtime(type: entry.type, options: entry.options, wantedBy: "runtimes.\(entry.name)")
            else { return nil }
            return (entry.name, client, entry.options)
        }
    }

    /// One runtime entry: its plugin and its options, canonically.
    static func key(type: String, options: [String: JSONValue]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return type + "\u{0}" + ((try? encoder.encode(options)).map { String(decoding: $0, as: UTF8.self) } ?? "")
    }

    /// This grove's instances in every listable runtime carrying `labels`
    /// besides the grove id; a runtime that does not answer is skipped.
    func instances(
        extraLabels: [String: String] = [:], groveIds: Set<String>? = nil
    ) -> [(runtime: String, client: any RuntimeDriver, options: [String: JSONValue], instance: RuntimeAgent)] {
        var found: [(String, any RuntimeDriver, [String: JSONValue], RuntimeAgent)] = []
        var seen = Set<String>()
        for (name, client, options) in listableRuntimes() {
            for id in (groveIds ?? [grove.id]).sorted() {
                do {
                    let labels = extraLabels.merging([Grove.idLabel: id]) { $1 }
                    for instance in try client.list(labels: labels)
                    where seen.insert(client.name + "\u{0}" + instance.handle).inserted {
                        found.append((name, client, options, instance))
                    }
                } catch {
                    logger.debug("runtime \(name) did not answer list: \(error)")
                }
            }
        }
        return found
    }

    // MARK: names that are free again

    /// A name just reserved has no record but may have debris from a
    /// killed or raced agent of the same name: git's admin entry of its
    /// worktree name blocks the worktree ("already checked out"). No record
    /// owns that entry, so it is scion's own and goes (the entry only).
    func clearDebris(ofFreshlyReserved record: AgentRecord) throws {
        guard let admin = WorktreeAdmin(grove: grove) else { return }
        let name = orchestrator.worktreeName(of: record)
        guard admin.exists(name) else { return }
        try orchestrator.withGroveLock {
            let owners = store.all().filter { entry in
                entry.name != record.name && entry.record.map { orchestrator.worktreeName(of: $0) == name } == true
            }
            guard owners.isEmpty else { return }
            logger.info("agent \(record.name): removing git's stale worktree entry \(name), which no agent owns")
            try admin.remove(name)
        }
    }

    /// `delete NAME` when NAME has no folder: removes what an interrupted
    /// command or a race left under names derived from NAME (its worktree
    /// entry, runtime instances labelled with it). True if it removed any.
    func removeLeftovers(ofUnrecorded name: String) throws -> Bool {
        guard (try? AgentName.validate(name)) != nil else { return false }
        var removed = false
        if let admin = WorktreeAdmin(grove: grove) {
            try orchestrator.withGroveLock {
                guard !store.exists(name) else { return }
                for entry in Set([AgentName.worktreeName(name), "scion-\(AgentName.slug(name))"]) where admin.exists(entry) {
                    let owned = store.all().contains { $0.record.map { orchestrator.worktreeName(of: $0) == entry } == true }
                    guard !owned, isThisGroves(admin, entry, agent: name) else { continue }
                    try admin.remove(entry)
                    removed = true
                }
            }
        }
        for (_, client, options, instance) in instances(extraLabels: ["scion.name": name]) where !store.exists(name) {
            try client.delete(AgentTarget(name: instance.name, handle: instance.handle, runtimeConfig: options))
            removed = true
        }
        return removed
    }

    /// After the repository moved, git's entry and the agent's worktree
    /// still name the old paths: point them at each other again (under the
    /// grove lock). Nothing to do when they are linked or either is gone.
    func relinkWorktree(_ record: AgentRecord) throws {
        guard let admin = WorktreeAdmin(grove: grove) else { return }
        let name = orchestrator.worktreeName(of: record), worktree = store.worktreePath(record.name)
        guard admin.exists(name), FileManager.default.fileExists(atPath: worktree), !admin.isLinked(name, worktree: worktree)
        else { return }
        try orchestrator.withGroveLock { try admin.relink(name, worktree: worktree) }
    }

    /// The entry's working tree lies in this grove's agent folders (and,
    /// given `agent`, in that agent's folder). The `gitdir` file it reads is
    /// agent-writable: it only decides whether to touch the entry itself.
    func isThisGroves(_ admin: WorktreeAdmin, _ entry: String, agent: String? = nil) -> Bool {
        guard let tree = admin.workingTree(entry) else { return agent != nil }
        let standardized = (tree as NSString).standardizingPath
        let prefix = agent.map { store.directory($0) + "/" } ?? grove.agentsDirectory + "/"
        return standardized.hasPrefix(prefix)
            || Grove.canonicalPath(standardized).hasPrefix(Grove.canonicalPath(String(prefix.dropLast())) + "/")
    }
}
