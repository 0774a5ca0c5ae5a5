import Foundation
import Logging
import ScionAgentEvents
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// Builds the run spec of one launch from the agent's spec: template
/// files, auth, harness provisioning, env, mounts and the runtime's
/// options. Split out of the Orchestrator, which decides when to launch.
struct RunSpecBuilder {
    let orchestrator: Orchestrator
    var grove: Grove { orchestrator.grove }
    var store: AgentStore { orchestrator.store }
    var settings: Settings { orchestrator.settings }
    var context: ScionContext { orchestrator.context }
    var templates: TemplateStore { orchestrator.templates }
    var logger: Logger { orchestrator.logger }

    func worktreeName(of record: AgentRecord) -> String { orchestrator.worktreeName(of: record) }
    func runtimeName(of record: AgentRecord) -> String { orchestrator.runtimeName(of: record) }
    func labels(_ record: AgentRecord) -> [String: String] { orchestrator.labels(record) }
    func configuration(from spec: AgentSpec, template: TemplateLayers, agent: String) -> AgentConfiguration {
        orchestrator.configuration(from: spec, template: template, agent: agent)
    }
    func resetEvents(_ record: AgentRecord, runtime: any RuntimeDriver, sharesHostPaths: Bool) throws {
        try orchestrator.resetEvents(record, runtime: runtime, sharesHostPaths: sharesHostPaths)
    }

    /// The agent's template layers; a template deleted since the agent was
    /// created leaves the default layers, with a warning.
    /// An untrusted grove template loses what needs trust (RepositoryTrust).
    func templateLayers(_ record: AgentRecord) throws -> TemplateLayers {
        let name = record.template ?? BuiltInTemplate.defaultName
        let layers: TemplateLayers
        do {
            layers = try templates.layers(name)
        } catch let error as ScionError where error.code == .notFound {
            logger.warning("agent \(record.name): template \(name) no longer exists; using the default template")
            layers = try templates.layers(BuiltInTemplate.defaultName)
        }
        let restricted = RepositoryTrust.restrict(layers, hostProcess: record.runtimeType == "local")
        RepositoryTrust.announce(restricted.skipped)
        return restricted.layers
    }

    /// Template files, auth, harness provisioning and the run spec. Secrets
    /// go only into the spec's env (marked secret), never into the record.
    func build(
        _ record: inout AgentRecord, agentSpec: AgentSpec, harness: any HarnessDriver, runtime: any RuntimeDriver,
        resume: Bool, task: String?
    ) throws -> RunSpec {
        let template = try templateLayers(record)
        let configuration = configuration(from: agentSpec, template: template, agent: record.name)
        let home = AgentHome(path: record.home)
        try home.prepare()
        let capabilities = try runtime.capabilities()
        try resetEvents(record, runtime: runtime, sharesHostPaths: capabilities.sharesHostPaths)
        for directory in template.homeDirectories { try home.copyTree(from: directory) }
        var auth = ResolvedAuth(method: "none")
        if !record.noAuth {
            auth = try harness.resolveAuth(ResolveAuthRequest(
                config: configuration.harnessConfig, selected: record.authSelected ?? configuration.harnessConfig.authSelectedType,
                hostEnv: context.environment, hostHome: context.homeDirectory))
            try home.copy(auth.files)
        }
        record.authMethod = auth.method
        let helper = AgentHelper(scionPath: context.executablePath)
        // A harness that cannot continue a session runs its task afresh.
        let supportsResume = try harness.describe().supportsResume
        let continuing = resume && supportsResume
        let effectiveTask = continuing ? task : record.task
        let taskFile = try TaskDelivery.writeTaskFile(effectiveTask, home: record.home)
        let provision = try harness.provision(ProvisionRequest(
            agent: record.name, task: effectiveTask, config: configuration.harnessConfig,
            home: record.home, workdir: record.worktree, resume: continuing,
            instructions: template.instructions(agent: record.name, branch: record.branch, grove: grove.name),
            systemPrompt: template.systemPrompt,
            hookCommand: try helper.hookCommand(harness: record.harness, isolated: capabilities.isolated),
            auth: record.noAuth ? nil : auth, taskFile: taskFile))
        try TaskDelivery.check(provision.command, harness: record.harness)
        try home.write(provision.files)

        var env = configuration.env.merging(provision.env) { $1 }
        env["SCION_AGENT"] = record.name
        env["SCION_GROVE"] = grove.directory
        env["SCION_HARNESS"] = record.harness
        if let taskFile { env["SCION_TASK_FILE"] = taskFile }
        // No one is at an agent's pager: `git log` must print, not wait.
        for name in ["GIT_PAGER", "PAGER"] where env[name] == nil { env[name] = "cat" }
        if !capabilities.isolated {
            let hostPath = context.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            env["PATH"] = (context.executablePath as NSString).deletingLastPathComponent + ":" + hostPath
            // Its HOME is the agent's: sub-agents it starts find the user's settings here.
            env[ScionContext.userDirectoryVariable] = context.globalDirectory
        }
        env.merge(auth.env) { $1 }
        var mounts = try AgentConfiguration.mounts(configuration.volumes, relativeTo: grove.root, settings: settings.tree)
            + helper.mounts(isolated: capabilities.isolated)
        let hostName = context.environment["USER"] ?? "scion"
        let user = capabilities.isolated ? ContainerUser(options: configuration.runtime.options, hostName: hostName) : nil
        if capabilities.isolated && capabilities.sharesHostPaths {
            // The agent's own broker socket: its `scion` runs on the host as this agent.
            let broker = orchestrator.broker
            let directory = try broker.prepareSocketDirectory(
                for: record.name, user: user.flatMap { $0.differsFromHost ? ($0.uid, $0.gid) : nil })
            mounts.append(RunSpec.Mount(source: directory, target: BrokerWire.containerDirectory, readOnly: true))
            env[BrokerWire.socketVariable] = BrokerWire.containerSocket
            try broker.ensureRunning(scionPath: context.executablePath, environment: context.environment)
        }
        var sharedGitDirectory: String?
        if let repository = WorktreeManager.repositoryRoot(containing: grove.root), !grove.isGlobal {
            let gitDirectory = try WorktreeManager(repositoryPath: repository).commonDirectory()
            sharedGitDirectory = gitDirectory
            if capabilities.isolated {
                mounts += try ContainerGitView(
                    commonDirectory: gitDirectory, worktreeName: worktreeName(of: record),
                    viewDirectory: store.directory(record.name) + "/git-view").mounts()
            } else {
                mounts.append(RunSpec.Mount(source: gitDirectory, target: gitDirectory))
            }
        }
        var command = provision.command
        if let setup = agentSpec.setup, orchestrator.runsSetup(agentSpec, record: record, resume: resume) {
            try UntrustedDirectory(record.home).remove(WorktreeBootstrap.setupStatusPath)
            command = WorktreeBootstrap.command(setup: setup, harness: command)
        }
        if capabilities.isolated {
            // The worktree's links to the checkout's folders resolve in the container too.
            mounts += (agentSpec.linkedFolders ?? []).map { RunSpec.Mount(source: $0, target: $0) }
        }
        if let user, capabilities.sharesHostPaths {
            try user.prepare(
                agent: record.name, branch: record.branch, home: record.home, worktree: record.worktree, gitDirectory: sharedGitDirectory,
                adminFolder: sharedGitDirectory.map { $0 + "/worktrees/" + worktreeName(of: record) })
        }
        return RunSpec(
            name: runtimeName(of: record), agent: record.name, grove: grove.name, image: record.image,
            command: command, env: env, secretEnv: auth.env.keys.sorted(), labels: labels(record),
            workdir: record.worktree, home: record.home, mounts: mounts, resources: configuration.profile.resources,
            user: user?.runSpecUser ?? RunSpec.User(uid: getuid(), gid: getgid(), name: hostName),
            session: SessionLayout(configFile: home.tmuxConfigPath), runtimeConfig: configuration.runtime.options)
    }
}
