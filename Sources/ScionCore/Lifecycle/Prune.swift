import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// One thing `scion prune` found: something scion made in this grove that
/// no agent record owns.
public struct PruneItem: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        case instance, worktreeEntry = "worktree_entry", agentFolder = "agent_folder", branch, secretFile = "secret_file"
    }

    public enum Action: String, Sendable, Encodable {
        case removed, wouldRemove = "would_remove", kept, failed
    }

    public var kind: Kind
    public var name: String
    /// The runtime (settings name) of an instance.
    public var runtime: String?
    public var action: Action
    public var detail: String
}

/// Finds and removes what scion made in this grove (by grove id, by this
/// grove's agent folders) that no record owns. It never touches another
/// grove's things, and keeps a branch unless a record proves scion made it.
struct Pruner {
    let orchestrator: Orchestrator
    var grove: Grove { orchestrator.grove }
    var store: AgentStore { orchestrator.store }
    var reconciler: Reconciler { orchestrator.reconciler }

    /// A folder without a record younger than this may be a start between
    /// reserving its name and writing its record.
    static let youngFolder: TimeInterval = 10

    func run(dryRun: Bool) -> [PruneItem] {
        var items = agentFolders(dryRun: dryRun)
        items += instances(dryRun: dryRun)
        items += worktreeEntries(dryRun: dryRun)
        items += secretFiles(dryRun: dryRun)
        return items
    }

    private func act(
        _ kind: PruneItem.Kind, _ name: String, runtime: String? = nil, dryRun: Bool, detail: String,
        _ body: () throws -> Void
    ) -> PruneItem {
        guard !dryRun else { return PruneItem(kind: kind, name: name, runtime: runtime, action: .wouldRemove, detail: detail) }
        do {
            try body()
            return PruneItem(kind: kind, name: name, runtime: runtime, action: .removed, detail: detail)
        } catch {
            return PruneItem(kind: kind, name: name, runtime: runtime, action: .failed, detail: "\(detail): \(error)")
        }
    }

    /// Folders of agents whose create was interrupted: no record, or a
    /// record still `provisioning` with no live process behind it.
    func agentFolders(dryRun: Bool) -> [PruneItem] {
        store.all().compactMap { entry -> PruneItem? in
            guard !store.isBusy(entry.name) else { return nil }
            let detail: String
            if let record = entry.record {
                guard record.phase == .provisioning else { return nil }
                detail = "agent folder \(store.directory(entry.name)), interrupted while being created"
                    + (record.createdBranch && record.branch != nil ? " (with the branch \(record.branch!) scion created)" : "")
            } else {
                // A start takes the lock just after reserving the name: look
                // again a moment later before calling the folder abandoned.
                usleep(200_000)
                guard !store.isBusy(entry.name), !FileManager.default.fileExists(atPath: store.recordPath(entry.name)) else { return nil }
                detail = "agent folder \(store.directory(entry.name)), interrupted before its record was written"
            }
            return act(.agentFolder, entry.name, dryRun: dryRun, detail: detail) {
                try orchestrator.delete(entry.name, preserveBranch: false)
            }
        }
    }

    /// Runtime instances labelled with this grove's id (or the ids its
    /// records carry, for a moved repository) that no record owns.
    func instances(dryRun: Bool) -> [PruneItem] {
        let records = store.all().compactMap(\.record)
        let ids = Set([grove.id] + records.compactMap(\.groveId))
        return reconciler.instances(groveIds: ids).compactMap { runtime, client, options, instance -> PruneItem? in
            let owned = records.contains { record in
                record.handle == instance.handle
                    || (orchestrator.runtimeName(of: record) == instance.name && record.runtimeType == client.name)
            }
            guard !owned else { return nil }
            if let name = instance.labels["scion.name"], store.exists(name), store.isBusy(name) { return nil }
            let detail = "\(client.name) instance \(instance.name) (\(instance.detail ?? instance.state.rawValue)) with no agent record"
            return act(.instance, instance.name, runtime: runtime, dryRun: dryRun, detail: detail) {
                try client.delete(AgentTarget(name: instance.name, handle: instance.handle, runtimeConfig: options))
            }
        }
    }

    /// git's `scion-*` worktree entries whose working tree lies in this
    /// grove's agent folders and that no record owns. Only the entry goes;
    /// the branch it was on is reported, not deleted: no record proves
    /// scion created it.
    func worktreeEntries(dryRun: Bool) -> [PruneItem] {
        guard let admin = WorktreeAdmin(grove: grove) else { return [] }
        let repository = RepositoryView(grove: grove)
        var items: [PruneItem] = []
        _ = try? orchestrator.withGroveLock {
            let owned = Set(store.all().compactMap { $0.record.map(orchestrator.worktreeName(of:)) })
            for entry in admin.scionEntries() where !owned.contains(entry) && reconciler.isThisGroves(admin, entry) {
                let branch = admin.branch(entry)
                items.append(act(.worktreeEntry, entry, dryRun: dryRun, detail: "git worktree entry \(admin.path(entry)) that no agent owns") {
                    try admin.remove(entry)
                })
                if let branch, repository?.branchExists(branch) == true {
                    items.append(PruneItem(
                        kind: .branch, name: branch, action: .kept,
                        detail: "branch \(branch) was checked out in that entry; no record shows scion created it: if it is not yours, `git branch -D \(branch)`"))
                }
            }
        }
        return items
    }

    /// The podman runtime's 0600 environment files (they hold the agent's
    /// secrets) that a killed start left in the temporary folder, for this
    /// grove's agents that no command is starting now.
    func secretFiles(dryRun: Bool) -> [PruneItem] {
        let temporary = (NSTemporaryDirectory() as NSString).standardizingPath
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        return entries.filter { $0.hasPrefix("scion-podman-") }.sorted().compactMap { entry -> PruneItem? in
            let directory = temporary + "/" + entry
            let file = directory + "/env"
            var info = stat()
            guard lstat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid(),
                  lstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                  Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > Self.youngFolder,
                  let text = readNoFollow(file)
            else { return nil }
            let lines = text.split(separator: "\n").map(String.init)
            guard lines.contains("SCION_GROVE=\(grove.directory)") else { return nil }
            let agent = lines.first { $0.hasPrefix("SCION_AGENT=") }.map { String($0.dropFirst("SCION_AGENT=".count)) }
            if let agent, store.exists(agent), store.isBusy(agent) { return nil }
            return act(.secretFile, file, dryRun: dryRun, detail: "environment file with agent \(agent ?? "?")'s secrets, left by a killed podman start") {
                guard unlink(file) == 0 || errno == ENOENT, rmdir(directory) == 0 || errno == ENOENT else {
                    throw AtomicFile.posixError("cannot remove \(file)")
                }
            }
        }
    }

    private func readNoFollow(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Orchestrator {
    /// `scion prune`: removes (or, dry, lists) what scion made in this
    /// grove that no record owns.
    public func prune(dryRun: Bool) -> [PruneItem] {
        Pruner(orchestrator: self).run(dryRun: dryRun)
    }
}
