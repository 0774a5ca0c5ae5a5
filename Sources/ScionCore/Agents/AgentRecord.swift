import Foundation
import ScionPluginKit

/// The lifecycle phase of an agent.
public enum AgentPhase: String, Codable, Sendable, CaseIterable {
    case created, provisioning, starting, running, stopping, stopped, error
}

/// What scion remembers about an agent (`.scion/agents/<name>/agent.json`).
/// It never holds a secret.
public struct AgentRecord: Codable, Sendable, Equatable {
    public var schemaVersion: Int = 1
    public var name: String
    public var grove: String
    public var phase: AgentPhase
    public var harnessConfig: String
    public var harness: String
    public var profile: String
    /// The settings name of the runtime (`runtimes.<name>`).
    public var runtime: String
    /// The runtime plugin that runs it.
    public var runtimeType: String
    public var handle: String?
    public var image: String?
    public var branch: String?
    public var createdBranch: Bool
    public var worktree: String
    public var home: String
    public var task: String?
    public var template: String?
    /// The auth method the user chose (`--harness-auth`), if any.
    public var authSelected: String?
    /// The method last used to authenticate; never the secret itself.
    public var authMethod: String?
    public var noAuth: Bool
    public var parent: String?
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var startedAt: Date?
    /// What the agent's branch started from (`--base`, HEAD's branch, or the
    /// reused branch) and its commit then; the deletion policy names it.
    public var baseRef: String? = nil
    public var baseCommit: String? = nil
    /// Intents: names of what the lifecycle makes, recorded before it makes
    /// them, so `delete` and `prune` find them even when a killed command
    /// never saved a handle (see Lifecycle/Reconciler.swift). Absent in
    /// records written before they existed.
    public var groveId: String? = nil
    /// The agent's name in its runtime (container name), fixed at create.
    public var runtimeName: String? = nil
    /// git's name for the agent's worktree (`.git/worktrees/<name>`).
    public var worktreeName: String? = nil
    /// Set when a delete, past its checks, begins removing the worktree: a
    /// delete killed part-way is finished by the next one without asking
    /// again about what it already weighed.
    public var deletionStartedAt: Date? = nil

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, grove, phase
        case harnessConfig = "harness_config", harness, profile, runtime, runtimeType = "runtime_type"
        case handle, image, branch, createdBranch = "created_branch", worktree, home, task, template
        case authSelected = "auth_selected", authMethod = "auth_method", noAuth = "no_auth", parent, error
        case createdAt = "created_at", updatedAt = "updated_at", startedAt = "started_at"
        case baseRef = "base_ref", baseCommit = "base_commit"
        case groveId = "grove_id", runtimeName = "runtime_name", worktreeName = "worktree_name"
        case deletionStartedAt = "deletion_started_at"
    }
}

/// An agent's activity as the host derived it from the agent's events.
public struct AgentActivity: Codable, Sendable, Equatable {
    public var activity: Activity
    public var message: String?
    public var updatedAt: Date

    public init(activity: Activity, message: String?, updatedAt: Date = Date()) {
        self.activity = activity
        self.message = message
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case activity, message, updatedAt = "updated_at"
    }
}
