import Foundation
import ScionPluginKit

/// The workspace of an agent on a remote runtime (capability `sync`: a
/// pod): its branch moves between the host's worktree and the instance.
/// `scion sync from|to`, and automatically before `stop` and `delete`, so
/// nothing committed in the pod is lost when scion removes it.
extension Orchestrator {
    /// `scion sync <direction> <agent>`.
    public func sync(_ name: String, direction: SyncRequest.Direction, progress: ((ProgressEvent) -> Void)? = nil) throws {
        let lock = try store.lock(name)
        defer { withExtendedLifetime(lock) {} }
        let record = try store.load(name)
        let driver = try runtime(for: record)
        guard try driver.capabilities().sync else {
            throw ScionError(
                .failedPrecondition,
                "agent \(name) runs on the \(driver.name) runtime, which works in the host's worktree: there is nothing to sync")
        }
        guard let handle = record.handle, record.phase == .running else {
            throw ScionError(.failedPrecondition, "agent \(name) is not running (phase \(record.phase.rawValue)): there is no pod to sync with")
        }
        do {
            try driver.sync(target(record, handle: handle), direction: direction, workdir: record.worktree, progress: progress)
            if direction == .from { recordSync(record, periodic: false) }
        } catch {
            throw ScionError.wrap(error, "cannot sync agent \(name) \(direction.rawValue == "to" ? "to its pod" : "from its pod")")
        }
    }

    /// Before the instance goes: its commits come to the agent's branch.
    /// Nothing to do for runtimes in the host's worktree, or an instance
    /// that is already gone (what was synced last is kept).
    func syncBeforeRemoval(_ record: AgentRecord, driver: any RuntimeDriver) throws {
        guard let handle = record.handle, try driver.capabilities().sync else { return }
        let target = target(record, handle: handle)
        guard (try? driver.status(target).state) == .running else {
            logger.debug("agent \(record.name): no running instance to sync from")
            return
        }
        do {
            try driver.sync(target, direction: .from, workdir: record.worktree, progress: nil)
            recordSync(record, periodic: false)
        } catch {
            throw ScionError.wrap(error, "cannot bring agent \(record.name)'s commits home before removing its pod")
        }
    }
}
