import Foundation
import Logging
import ScionPluginKit

/// Makes and unmakes an agent's workspace: its worktree on its branch, its
/// home with git identity and tmux config, and the roll-back of a failed
/// create or start. Split out of the Orchestrator, which decides when.
struct AgentProvisioner {
    let orchestrator: Orchestrator
    var grove: Grove { orchestrator.grove }
    var store: AgentStore { orchestrator.store }
    var settings: Settings { orchestrator.settings }
    var context: ScionContext { orchestrator.context }
    var reconciler: Reconciler { orchestrator.reconciler }

    func worktreeName(of record: AgentRecord) -> String { orchestrator.worktreeName(of: record) }
    func withGroveLock<T>(_ body: () throws -> T) throws -> T { try orchestrator.withGroveLock(body) }

    /// Worktree on its branch, home folder, git identity, tmux config.
    func provisionWorkspace(_ record: inout AgentRecord, branch: String?, base: String?) throws {
        let home = AgentHome(path: record.home)
        try home.prepare()
        if let repository = WorktreeManager.repositoryRoot(containing: grove.root), !grove.isGlobal {
            let manager = WorktreeManager(repositoryPath: repository)
            let wanted = branch ?? AgentName.slug(record.name)
            try AgentName.validateBranch(wanted)
            let created = try withGroveLock {
                // Intent first: the branch and whether scion is creating it.
                record.branch = wanted
                record.createdBranch = !manager.branchExists(wanted)
                try store.save(record)
                return try manager.add(name: worktreeName(of: record), path: record.worktree, branch: wanted, base: base, checkingOut: false)
            }
            // git writes the files outside the grove lock, so agents starting
            // at once check out side by side, while the home is written here.
            // A failure is rolled back with the rest of the create.
            let checkout = created.pendingCheckout.map { pending in Blocking.start { Result { try pending.run() } } }
            do {
                record.branch = created.branch
                record.createdBranch = created.createdBranch
                record.baseRef = created.baseRef
                record.baseCommit = created.baseCommit
                try store.save(record)
                let identity = settings.gitAuthor ?? manager.identity()
                    ?? ("scion agent \(record.name)", "\(AgentName.slug(record.name))@agents.scion.invalid")
                try home.writeGitConfig(name: identity.name, email: identity.email)
            } catch {
                // The rollback removes the worktree only once git has let go of it.
                _ = checkout?.wait()
                throw error
            }
            try checkout?.wait().get()
        } else {
            try FileManager.default.createDirectory(atPath: record.worktree, withIntermediateDirectories: true)
        }
        try home.writeTmuxConfig(userConfig: try tmuxUserConfig())
    }

    func tmuxUserConfig() throws -> String? {
        if let configured = settings.tmuxConfig {
            try SettingsValidator.checkTmuxConfig(settings)
            return configured
        }
        let userConfig = context.userHomeDirectory + "/.tmux.conf"
        return settings.useUserTmuxConfig && FileManager.default.fileExists(atPath: userConfig) ? userConfig : nil
    }

    /// Undoes a failed create or start so the name can be used again.
    func rollBack(_ record: AgentRecord) {
        reconciler.removeInstance(record)
        if let repository = WorktreeManager.repositoryRoot(containing: grove.root), !grove.isGlobal {
            _ = try? withGroveLock {
                try WorktreeManager(repositoryPath: repository).remove(
                    name: worktreeName(of: record), path: store.worktreePath(record.name),
                    branch: record.createdBranch ? record.branch : nil, within: store.directory(record.name))
            }
        }
        try? store.remove(record.name)
        orchestrator.broker.removeSocketDirectory(for: record.name)
    }
}
