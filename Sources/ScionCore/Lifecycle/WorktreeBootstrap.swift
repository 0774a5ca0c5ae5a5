import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// Gets a new worktree ready to work in (issue 13): the checkout's
/// gitignored files that `.worktreeinclude` and `worktree.copy` name are
/// copied in, `worktree.symlink` folders are linked, and `worktree.setup`
/// runs in the agent's runtime before its harness first starts. Whatever is
/// written into the worktree (the agent's folder) is written through
/// `UntrustedDirectory`: never through a symlink, even one the checkout's
/// own tracked files put there.
public enum WorktreeBootstrap {
    /// The file at the top of the repository listing files to copy.
    public static let includeFile = ".worktreeinclude"
    /// Where the setup's exit status is written in the agent's home.
    static let setupStatusPath = ".scion/setup-status"

    /// A relative path inside the repository: not empty, not absolute, no `.` or `..` part.
    public static func isRepositoryPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return !path.hasPrefix("/") && !parts.isEmpty && !parts.contains("..") && !parts.contains(".")
    }

    /// The patterns of `.worktreeinclude` (a regular file at the checkout's
    /// top, never read through a link) and of `worktree.copy`.
    static func copyPatterns(checkout root: String, settings: [String]) -> IgnorePatterns {
        let lines = (UntrustedDirectory(root).text(includeFile) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return IgnorePatterns(lines: lines + settings)
    }

    /// Copies the checkout's ignored files that `patterns` match into the
    /// worktree, as what they are (files with their mode, links as links);
    /// returns the relative paths copied.
    @discardableResult
    static func copyIgnored(checkout: Checkout, to worktree: String, patterns: IgnorePatterns) throws -> [String] {
        guard !patterns.isEmpty else { return [] }
        let destination = UntrustedDirectory(worktree)
        var copied: [String] = []
        for entry in try checkout.ignoredEntries() {
            if patterns.matches(entry.path, isDirectory: entry.isDirectory) {
                try copy(entry.path, from: checkout.root, to: destination)
                copied.append(entry.path)
            } else if entry.isDirectory && patterns.reachesIntoFolders {
                try copyMatches(below: entry.path, from: checkout.root, to: destination, patterns: patterns, copied: &copied)
            }
        }
        return copied
    }

    private static func copyMatches(
        below folder: String, from root: String, to destination: UntrustedDirectory, patterns: IgnorePatterns,
        copied: inout [String], depth: Int = 0
    ) throws {
        guard depth < 32, let names = try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder) else { return }
        for name in names.sorted() {
            let relative = folder + "/" + name
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0 else { continue }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            if patterns.matches(relative, isDirectory: isDirectory) {
                try copy(relative, from: root, to: destination)
                copied.append(relative)
            } else if isDirectory {
                try copyMatches(below: relative, from: root, to: destination, patterns: patterns, copied: &copied, depth: depth + 1)
            }
        }
    }

    private static func copy(_ relative: String, from root: String, to destination: UntrustedDirectory, depth: Int = 0) throws {
        let source = root + "/" + relative
        var info = stat()
        guard depth < 64, lstat(source, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            try destination.createDirectory(relative)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? [] {
                try copy(relative + "/" + name, from: root, to: destination, depth: depth + 1)
            }
        case S_IFLNK:
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: source)
            try destination.createSymbolicLink(relative, target: target)
        case S_IFREG:
            guard let data = FileManager.default.contents(atPath: source) else {
                throw ScionError(.permissionDenied, "cannot read \(source) to copy it into the agent's worktree")
            }
            try destination.write(relative, data, mode: info.st_mode & 0o7777)
        default:
            return  // FIFOs, sockets and devices are not copied.
        }
    }

    /// Links each folder of the checkout into the worktree (an absolute
    /// link); a folder missing in the checkout, or a path the worktree
    /// already has (tracked), is skipped. Returns the folders linked.
    @discardableResult
    static func link(_ folders: [String], checkout root: String, to worktree: String) throws -> [String] {
        let destination = UntrustedDirectory(worktree)
        var linked: [String] = []
        for folder in folders where isRepositoryPath(folder) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + folder, isDirectory: &isDirectory), isDirectory.boolValue,
                  !destination.exists(folder) else { continue }
            try destination.createSymbolicLink(folder, target: root + "/" + folder)
            linked.append(folder)
        }
        return linked
    }

    /// The agent window's command with the setup first: `sh` runs the
    /// setup argv (its output appended to the agent log), writes its exit
    /// status to `$HOME/.scion/setup-status`, and only when that is 0
    /// replaces itself with the harness. The script is fixed; the argv
    /// reaches it as arguments, never parsed by a shell.
    static func command(setup: [String], harness: [String]) -> [String] {
        let script = "n=$1; shift; "
            + "( k=$(($# - n)); i=0; while [ \"$i\" -lt \"$n\" ]; do a=$1; shift; set -- \"$@\" \"$a\"; i=$((i + 1)); done; shift \"$k\"; exec \"$@\" ) "
            + ">> \"$HOME/\(Tmux.logPath)\" 2>&1 < /dev/null; status=$?; "
            + "printf %s \"$status\" > \"$HOME/\(setupStatusPath)\"; "
            + "if [ \"$status\" -ne 0 ]; then echo \"scion: the setup command exited with status $status\"; exit \"$status\"; fi; "
            + "shift \"$n\"; exec \"$@\""
        return ["sh", "-c", script, "scion-setup", String(setup.count)] + setup + harness
    }
}

extension Orchestrator {
    /// At create, after the worktree is made: copies and links.
    func bootstrapWorktree(_ record: AgentRecord, spec: inout AgentSpec) throws {
        guard !grove.isGlobal, let checkout = Checkout(containing: grove.root) else { return }
        let patterns = WorktreeBootstrap.copyPatterns(checkout: checkout.root, settings: settings.worktreeCopy)
        try WorktreeBootstrap.copyIgnored(checkout: checkout, to: record.worktree, patterns: patterns)
        let linked = try WorktreeBootstrap.link(settings.worktreeSymlink, checkout: checkout.root, to: record.worktree)
        spec.linkedFolders = linked.isEmpty ? nil : linked.map { checkout.root + "/" + $0 }
        spec.setup = settings.worktreeSetup
        spec.setupTimeout = settings.worktreeSetup == nil ? nil : settings.worktreeSetupTimeout
    }

    /// The setup runs once, at the agent's first launch.
    func runsSetup(_ spec: AgentSpec, record: AgentRecord, resume: Bool) -> Bool {
        spec.setup != nil && !resume && record.startedAt == nil
    }

    /// After `run`: waits for the setup the agent window runs first; a
    /// failure (or no answer in time) throws with its exit status and the
    /// last lines of its output.
    func awaitSetup(_ record: AgentRecord, spec: AgentSpec, runtime: any RuntimeDriver, sharesHostPaths: Bool) throws {
        guard let setup = spec.setup else { return }
        let target = target(record, handle: record.handle ?? "")
        func read(_ path: String) -> String? {
            if sharesHostPaths { return UntrustedDirectory(record.home).text(path) }
            guard let file = try? runtime.readAgentFile(target, path: path, offset: 0), file.exists else { return nil }
            return String(decoding: file.data, as: UTF8.self)
        }
        let deadline = Date().addingTimeInterval(spec.setupTimeout ?? 600)
        let shown = setup.joined(separator: " ")
        while true {
            if let text = read(WorktreeBootstrap.setupStatusPath), let status = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                if status == 0 { return }
                let last = (read(Tmux.logPath) ?? "").split(separator: "\n").suffix(10).map { TerminalText.line(String($0)) }
                throw ScionError(.failedPrecondition, "the setup command of agent \(record.name) (worktree.setup: \(TerminalText.line(shown))) exited with status \(status); its last lines: \(last.isEmpty ? "(none)" : last.joined(separator: " / "))")
            }
            if let exit = read(Tmux.exitPath), !exit.isEmpty {
                throw ScionError(.failedPrecondition, "the setup command of agent \(record.name) (worktree.setup: \(TerminalText.line(shown))) could not run (exit status \(exit.trimmingCharacters(in: .whitespacesAndNewlines)))")
            }
            guard Date() < deadline else {
                throw ScionError(.failedPrecondition, "the setup command of agent \(record.name) (worktree.setup: \(TerminalText.line(shown))) did not finish within \(Int(spec.setupTimeout ?? 600)) s (worktree.setup_timeout)")
            }
            usleep(50_000)
        }
    }
}
