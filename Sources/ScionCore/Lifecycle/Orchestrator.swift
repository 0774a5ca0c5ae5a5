import Foundation
import Logging
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// What `scion start` / `scion create` are asked for.
public struct StartRequest: Sendable {
    public var name: String
    public var task: String?
    public var harnessConfig: String?
    public var image: String?
    public var branch: String?
    public var base: String?
    public var template: String?
    public var noAuth: Bool
    public var harnessAuth: String?

    public init(
        name: String, task: String? = nil, harnessConfig: String? = nil, image: String? = nil,
        branch: String? = nil, base: String? = nil, template: String? = nil, noAuth: Bool = false,
        harnessAuth: String? = nil
    ) {
        self.name = name
        self.task = task
        self.harnessConfig = harnessConfig
        self.image = image
        self.branch = branch
        self.base = base
        self.template = template
        self.noAuth = noAuth
        self.harnessAuth = harnessAuth
    }
}

/// Drives agents through their lifecycle: worktree, home, plugins, runtime.
/// Cross-process safety: the agent folder reserves a name, a per-agent lock
/// serializes its lifecycle, and a grove lock guards git's shared state.
public final class Orchestrator: Sendable {
    public let context: ScionContext
    public let grove: Grove
    public let settings: Settings
    public let catalog: PluginCatalog
    public let store: AgentStore
    /// Makes the runtime and harness drivers (plugins, or test fakes).
    public let drivers: DriverRegistry
    let notifier: Notifier
    let logger = Logger(label: "scion.orchestrator")

    public init(context: ScionContext, drivers: DriverRegistry = .plugins) throws {
        WorktreeManager.initializeInBackground()
        self.context = context
        self.drivers = drivers
        self.grove = try context.grove()
        try AgentAuthority(environment: context.environment)
            .requireOwnGrove(grove, own: context.environment[AgentAuthority.groveVariable])
        self.settings = try context.settingsLoader(grove: grove).load()
        self.catalog = context.catalog(settings)
        self.store = AgentStore(grove: grove)
        self.notifier = Notifier(command: settings.notifyCommand, environment: context.environment, grove: grove)
        for warning in settings.warnings { logger.warning("\(warning)") }
    }

    /// What the acting agent (SCION_AGENT) may do; everything for the user.
    public var authority: AgentAuthority { AgentAuthority(environment: context.environment) }
    /// The grove's agents as a tree, from their records.
    public var lineage: Lineage { Lineage(store: store) }
    /// The host-side journal of an agent (messages, notices, refusals).
    public func journal(_ name: String) -> AgentJournal { AgentJournal(directory: store.directory(name)) }

    public var templates: TemplateStore { TemplateStore(grove: grove, globalDirectory: context.globalDirectory) }

    // MARK: plugins

    /// A runtime driver bound to `options` (a `runtimes.<name>` entry).
    public func runtime(type: String, options: [String: JSONValue], wantedBy: String) throws -> any RuntimeDriver {
        try drivers.runtime(type: type, options: options, catalog: catalog, wantedBy: wantedBy)
    }

    public func harness(_ name: String, wantedBy: String) throws -> any HarnessDriver {
        try drivers.harness(name, catalog: catalog, wantedBy: wantedBy)
    }

    /// The agent's runtime, bound to the options its spec recorded.
    func runtime(for record: AgentRecord) throws -> any RuntimeDriver {
        try runtime(for: spec(for: record), wantedBy: "agent \(record.name)")
    }

    // MARK: create and start

    /// Provisions an agent (worktree, home, record) without launching it.
    @discardableResult
    public func create(_ request: StartRequest) throws -> AgentRecord {
        try create(request, launching: false)
    }

    /// `launching` leaves the agent `starting` rather than `created`, so a
    /// concurrent `scion start` of the same name cannot take it for an agent
    /// the user only created and launch it too.
    private func create(_ request: StartRequest, launching: Bool) throws -> AgentRecord {
        try AgentName.validate(request.name)
        let template = try templates.layers(request.template ?? settings.defaultTemplate)
        let configuration = try AgentConfiguration.resolve(
            settings, harnessConfigName: request.harnessConfig, image: request.image, template: template)
        let wantedBy = "profile \(configuration.profile.name)"
        var spec = makeSpec(configuration, template: template.name, resolvedBy: "create")
        let runtimeClient = try runtime(for: spec, wantedBy: wantedBy)
        let harnessClient = try harness(configuration.harnessConfig.harness, wantedBy: "harness config \(configuration.harnessConfig.name)")
        let capabilities = try runtimeClient.capabilities()
        if capabilities.needsImage && configuration.image == nil {
            throw ScionError(.invalidArgument, "the \(configuration.runtime.type) runtime needs an image: pass --image or set harness_configs.\(configuration.harnessConfig.name).image")
        }
        _ = try harnessClient.describe()
        try SettingsValidator.checkTmuxConfig(settings)

        let authority = self.authority
        // The limits are checked and the name reserved under one grove lock,
        // so agents starting children at once cannot pass a limit together.
        // Released as soon as the name is reserved (the lock's scope is this
        // block): other agents' starts must not wait for this one's worktree.
        do {
            let startsLock = try FileLock.acquire(grove.directory + "/starts.lock", subject: "grove \(grove.name) (its agent limits)")
            try withExtendedLifetime(startsLock) {
                try authority.checkStart(
                    name: request.name, profile: configuration.profile.name, harnessConfig: configuration.harnessConfig.name,
                    limits: settings.agents, lineage: lineage, groveCount: store.names().count,
                    journal: authority.actor.map(journal))
                try store.reserve(request.name)
            }
        }
        let parent = authority.actor.flatMap { try? store.load($0) }
        let now = Date()
        var record = AgentRecord(
            name: request.name, grove: grove.name, phase: .provisioning,
            harnessConfig: configuration.harnessConfig.name, harness: configuration.harnessConfig.harness,
            profile: configuration.profile.name, runtime: configuration.runtime.name,
            runtimeType: configuration.runtime.type, handle: nil, image: configuration.image,
            branch: nil, createdBranch: false, worktree: store.worktreePath(request.name),
            home: store.homePath(request.name), task: request.task, template: template.name,
            authSelected: request.harnessAuth, authMethod: nil, noAuth: request.noAuth,
            parent: authority.actor, error: nil, createdAt: now, updatedAt: now, startedAt: nil,
            groveId: grove.id, runtimeName: grove.runtimeName(for: request.name),
            worktreeName: AgentName.worktreeName(request.name))
        let lock = try store.lock(request.name)
        defer { withExtendedLifetime(lock) {} }
        do {
            try store.save(record)
            try store.saveSpec(spec, for: record.name)
            try reconciler.clearDebris(ofFreshlyReserved: record)
            // A child branches from its parent's branch: it sees the parent's commits.
            try provisioner.provisionWorkspace(&record, branch: request.branch, base: request.base ?? parent?.branch)
            spec.baseRef = record.baseRef
            spec.baseCommit = record.baseCommit
            if record.branch != nil { try bootstrapWorktree(record, spec: &spec) }
            try store.saveSpec(spec, for: record.name)
            record.phase = launching ? .starting : .created
            try store.save(record)
            return record
        } catch {
            provisioner.rollBack(record)
            throw ScionError.wrap(error, "cannot create agent \(request.name)")
        }
    }

    /// Creates and launches an agent; an agent that was only created is launched.
    @discardableResult
    public func start(_ request: StartRequest, progress: ((ProgressEvent) -> Void)? = nil) throws -> AgentRecord {
        if store.exists(request.name), let existing = try? store.load(request.name), existing.phase == .created {
            return try launch(request.name, task: request.task, resume: false, onlyFrom: .created, progress: progress)
        }
        let record = try create(request, launching: true)
        do {
            return try launch(record.name, task: nil, resume: false, progress: progress)
        } catch {
            let lock = try? store.lock(record.name)
            provisioner.rollBack((try? store.load(record.name)) ?? record)
            withExtendedLifetime(lock) {}
            throw error
        }
    }

    /// Relaunches an agent on its home and worktree with the harness's
    /// resume command, as its spec says; `profile` (`resume --profile`)
    /// re-resolves the spec with that profile first and keeps it.
    @discardableResult
    public func resume(
        _ name: String, task: String?, profile: String? = nil, progress: ((ProgressEvent) -> Void)? = nil
    ) throws -> AgentRecord {
        try authority.requireDescendant(name, lineage: lineage, to: "resume", journal: authority.actor.map(journal))
        let status = try self.status(name)
        if status.phase == .running {
            // A runtime that did not answer (engine down or restarting) left
            // the recorded phase: report its error rather than "already running".
            if let record = status.record, let handle = record.handle {
                _ = try runtime(for: record).status(target(record, handle: handle))
            }
            throw ScionError(.failedPrecondition, "agent \(name) is already running: stop it first, or send it a task with `scion message \(name)`")
        }
        return try launch(name, task: task, resume: status.record?.phase != .created, profile: profile, progress: progress)
    }

    /// `onlyFrom`: launch only if the record, read under the agent's lock,
    /// is still in that phase (another process may have launched it since).
    func launch(
        _ name: String, task: String?, resume: Bool, onlyFrom expected: AgentPhase? = nil, profile: String? = nil,
        progress: ((ProgressEvent) -> Void)?
    ) throws -> AgentRecord {
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        var record = try store.load(name)
        if let expected, record.phase != expected {
            throw ScionError(.alreadyExists, "agent \(name) already exists (\(record.phase.rawValue)): delete it first or choose another name")
        }
        var agentSpec = try spec(for: record, persist: true)
        let previousRuntime = try runtime(for: agentSpec, wantedBy: "agent \(name)")
        if let profile {
            agentSpec = try respecified(agentSpec, record: record, profile: profile)
        }
        let runtimeClient = try runtime(for: agentSpec, wantedBy: "agent \(name)")
        if profile != nil, agentSpec.image == nil, try runtimeClient.capabilities().needsImage {
            throw ScionError(.invalidArgument, "the \(agentSpec.runtime.type) runtime of profile \(agentSpec.profile) needs an image: set harness_configs.\(agentSpec.harnessConfig.name).image")
        }
        let harnessClient = try harness(agentSpec.harnessConfig.harness, wantedBy: "agent \(name)")
        if let task { record.task = task }
        record.phase = .starting
        record.error = nil
        try store.save(record)
        do {
            if let handle = record.handle {
                // The previous instance goes through the runtime that made it.
                try? previousRuntime.delete(target(record, handle: handle))
                record.handle = nil
            }
            if profile != nil {
                record.profile = agentSpec.profile
                record.runtime = agentSpec.runtime.name
                record.runtimeType = agentSpec.runtime.type
                record.image = agentSpec.image
                record.harness = agentSpec.harnessConfig.harness
                try store.saveSpec(agentSpec, for: name)
                try store.save(record)
            }
            let spec = try RunSpecBuilder(orchestrator: self).build(
                &record, agentSpec: agentSpec, harness: harnessClient, runtime: runtimeClient, resume: resume, task: task)
            let result: RunResult
            do {
                result = try reconciler.run(spec, record: record, runtime: runtimeClient, progress: progress)
            } catch let error as ScionError
                where error.code == .notFound && (error.cause as? PluginError)?.details["image"] != nil {
                // Pull only when run says the image is missing: asking
                // image_exists before every run costs a podman process (~30 ms).
                guard let image = spec.image, try runtimeClient.capabilities().needsImage else { throw error }
                progress?(ProgressEvent(message: "pulling image \(image)"))
                try runtimeClient.pullImage(image) { progress?($0) }
                result = try runtimeClient.run(spec, progress: progress)
            }
            record.handle = result.handle
            if runsSetup(agentSpec, record: record, resume: resume) {
                try store.save(record)
                try awaitSetup(record, spec: agentSpec, runtime: runtimeClient, sharesHostPaths: try runtimeClient.capabilities().sharesHostPaths)
            }
            record.phase = .running
            record.startedAt = Date()
            try store.save(record)
            logger.debug("agent \(name) running with handle \(result.handle)")
            ensureFollower([record])
            return record
        } catch {
            record.phase = .error
            record.error = "\(error)"
            try? store.save(record)
            throw ScionError.wrap(error, "cannot start agent \(name)")
        }
    }

    func labels(_ record: AgentRecord) -> [String: String] {
        [
            "scion.agent": "true", "scion.name": record.name, "scion.grove": grove.name,
            "scion.grove_path": grove.directory, "scion.harness": record.harness,
            "scion.template": record.template ?? "default", Grove.idLabel: record.groveId ?? grove.id,
        ]
    }

    /// The agent as its runtime knows it; the runtime's driver adds the
    /// options of the agent's spec to every call.
    func target(_ record: AgentRecord, handle: String) -> AgentTarget {
        AgentTarget(name: runtimeName(of: record), handle: handle, home: record.home)
    }

    /// The agent's name in its runtime: the one recorded at create
    /// (`<grove>-<id>--<agent>`), so a moved repository still finds its
    /// instances; `<grove>--<agent>` for records older than that.
    public func runtimeName(of record: AgentRecord) -> String { record.runtimeName ?? "\(grove.name)--\(record.name)" }

    /// git's name for the agent's worktree: the recorded one, or the one
    /// records older than that used.
    func worktreeName(of record: AgentRecord) -> String { record.worktreeName ?? "scion-\(AgentName.slug(record.name))" }

    var reconciler: Reconciler { Reconciler(orchestrator: self) }
    var provisioner: AgentProvisioner { AgentProvisioner(orchestrator: self) }

    func withGroveLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try FileLock.acquire(grove.lockFile, subject: "grove \(grove.name) (its git state)")
        return try withExtendedLifetime(lock) { try body() }
    }

    // MARK: stop and delete

    public func stop(_ name: String) throws {
        try authority.requireDescendant(name, lineage: lineage, to: "stop", journal: authority.actor.map(journal))
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        var record = try store.load(name)
        guard let handle = record.handle else {
            throw ScionError(.failedPrecondition, "agent \(name) was never started (phase \(record.phase.rawValue))")
        }
        record.phase = .stopping
        try store.save(record)
        do {
            let driver = try runtime(for: spec(for: record, persist: true), wantedBy: "agent \(name)")
            try syncBeforeRemoval(record, driver: driver)
            try driver.stop(target(record, handle: handle))
        } catch {
            record.phase = .error
            record.error = "\(error)"
            try? store.save(record)
            throw ScionError.wrap(error, "cannot stop agent \(name)")
        }
        record.phase = .stopped
        try store.save(record)
    }

    /// Stops every running agent of the grove; returns the names stopped.
    public func stopAll() throws -> [String] {
        let results = stop(try runningAgentNames())
        if let failure = results.first(where: { !$0.succeeded })?.error { throw failure }
        return results.map(\.name)
    }

    /// The running agents the actor may stop: all for the user, its own
    /// descendants for an agent.
    public func runningAgentNames() throws -> [String] {
        let running = try list().filter { $0.phase == .running }.map(\.name)
        guard let actor = authority.actor else { return running }
        let lineage = self.lineage
        return running.filter { lineage.isDescendant($0, of: actor) }
    }

    /// Stops several agents in parallel (bounded); each one's outcome, in
    /// the order given. One that fails does not keep the others from stopping.
    public func stop(_ names: [String]) -> [FanOutResult] {
        Blocking.map(names) { name in
            do {
                try self.stop(name)
                return FanOutResult(name: name, error: nil)
            } catch {
                return FanOutResult(name: name, error: ScionError.wrap(error, "cannot stop \(name)"))
            }
        }
    }

    /// Removes the agent's runtime instance, worktree, branch (only one
    /// scion created, unless preserved) and home. Works on half-created
    /// agents too. Work that would be lost (see `DeletionPolicy`) needs
    /// `force` or a yes from `confirm`; otherwise it throws `.wouldLoseWork`.
    @discardableResult
    public func delete(
        _ name: String, options: DeleteOptions, confirm: (WorkAtRisk) -> Bool = { _ in false }
    ) throws -> DeleteOutcome {
        guard store.exists(name) else {
            // No folder: what a killed command or a race left under names
            // derived from this one is still ours to remove.
            if try reconciler.removeLeftovers(ofUnrecorded: name) {
                return DeleteOutcome(name: name, discarded: nil, branch: nil, branchDeleted: false)
            }
            throw ScionError(.notFound, "no agent named \(name) in grove \(grove.root)")
        }
        let lineage = self.lineage
        try authority.requireDescendant(name, lineage: lineage, to: "delete", journal: authority.actor.map(journal))
        let children = lineage.children(of: name).filter { !options.together.contains($0) }
        if !children.isEmpty {
            guard options.cascade else {
                throw ScionError(
                    .failedPrecondition,
                    "agent \(name) has children (\(children.joined(separator: ", "))): delete them first, or pass --cascade to delete \(name) with all its descendants")
            }
            // Deepest first: a child goes before its parent.
            for descendant in lineage.descendants(of: name).reversed() where !options.together.contains(descendant) {
                try delete(descendant, options: options, confirm: confirm)
            }
        }
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let record = try? store.load(name)
        if let record, record.worktree != store.worktreePath(name) {
            // A moved repository: relinked, git can read and remove the worktree.
            try? reconciler.relinkWorktree(record)
        }
        if let record, record.phase == .running, let driver = try? runtime(for: record) {
            // A pod's commits reach the branch before the policy weighs what would be lost.
            do {
                try syncBeforeRemoval(record, driver: driver)
            } catch where options.force {
                logger.warning("\(error); deleting anyway (--force)")
            }
        }
        let policy = DeletionPolicy(orchestrator: self, name: name, record: record, options: options)
        let accepted = try policy.authorize(confirm: confirm)
        if let record { try reconciler.deleteInstance(record) }
        let outcome = try policy.removeWorkspace(accepted: accepted, confirm: confirm)
        try store.remove(name)
        broker.removeSocketDirectory(for: name)
        broker.sweepSocketDirectories()
        store.sweepTombstones()
        return outcome
    }

    public func delete(_ name: String, preserveBranch: Bool) throws {
        try delete(name, options: DeleteOptions(preserveBranch: preserveBranch))
    }
}

extension AgentName {
    static func validateBranch(_ branch: String) throws {
        let bad = branch.isEmpty || branch.hasPrefix("-") || branch.hasPrefix("/") || branch.hasSuffix("/")
            || branch.hasSuffix(".lock") || branch.contains("..") || branch.contains("//") || branch.contains("@{")
            || branch.contains(where: { $0.isWhitespace || "~^:?*[\\".contains($0) || $0.asciiValue.map { $0 < 32 } == true })
        if bad { throw ScionError(.invalidArgument, "\"\(branch)\" is not a valid git branch name") }
    }
}
