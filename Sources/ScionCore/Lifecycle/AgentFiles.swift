import Foundation
import ScionAgentEvents
import ScionPluginKit

/// The agent's own files (status events, the message journal): read and
/// written in its home on this host when its runtime shares the host's
/// paths (local, docker, podman), and through the runtime's
/// `read_agent_file` / `write_agent_file` otherwise, never from a host
/// folder that such an agent does not see. Its log goes through the
/// runtime's `logs`, its exit status through `status` and `exec`.
extension Orchestrator {
    /// The runtime and target to reach the agent's files through, or nil
    /// when its runtime shares the host's paths.
    func remoteFiles(_ record: AgentRecord) -> (driver: any RuntimeDriver, target: AgentTarget)? {
        guard let driver = try? runtime(for: record), let capabilities = try? driver.capabilities(),
              !capabilities.sharesHostPaths
        else { return nil }
        return (driver, target(record, handle: record.handle ?? ""))
    }

    /// The agent's event log, reading events where the agent writes them.
    /// `client` and `sharesHostPaths`, when the caller knows them (`list`),
    /// save asking the runtime again for each agent.
    func eventLog(_ record: AgentRecord, client: (any RuntimeDriver)? = nil, sharesHostPaths: Bool? = nil) -> EventLog {
        let remote: (driver: any RuntimeDriver, target: AgentTarget)?
        if let client, let sharesHostPaths {
            remote = sharesHostPaths ? nil : (client, target(record, handle: record.handle ?? ""))
        } else {
            remote = remoteFiles(record)
        }
        guard let (driver, target) = remote else { return EventLog(home: record.home) }
        // The grove broker's copy, while its follower is current for this
        // instance: no exec per pod (ActivityCache).
        let cache = ActivityCache(store: store, name: record.name)
        if let follower = cache.current(handle: target.handle) {
            return EventLog(home: record.home) { offset in cache.read(from: offset, follower: follower) }
        }
        return EventLog(home: record.home) { offset in
            try driver.readAgentFile(target, path: AgentEvents.relativePath, offset: offset)
        }
    }

    /// Journals a message typed to the agent (it ends a sticky activity).
    func recordInput(_ record: AgentRecord) throws {
        if let (driver, target) = remoteFiles(record) {
            try driver.writeAgentFile(
                target, path: AgentEvents.relativePath, data: Data(AgentEvents.inputLine()), append: true)
            try ActivityCache(store: store, name: record.name).noteHostWrite()
        } else {
            try AgentEvents.recordInput(home: record.home)
        }
    }

    /// Before a launch: the previous run's events go, wherever they are.
    func resetEvents(_ record: AgentRecord, runtime: any RuntimeDriver, sharesHostPaths: Bool) throws {
        try EventLog(home: record.home).reset()
        if !sharesHostPaths {
            // Marks the agent as one the grove broker follows (ActivityCache).
            try ActivityCache(store: store, name: record.name).prepare()
            try runtime.writeAgentFile(
                target(record, handle: record.handle ?? ""), path: AgentEvents.relativePath, data: Data(), append: false)
        }
    }
}
