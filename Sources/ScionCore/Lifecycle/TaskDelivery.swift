import Foundation
import ScionPluginKit

/// How a task of any size reaches the harness: the host writes it into the
/// agent home (`HarnessLaunch.taskPath`, 0600, without following links) and
/// tells the harness where it is; the harness passes a task that fits in one
/// argument as an argument and points the agent at the file otherwise. The
/// argv itself reaches the session through files too (`HarnessLaunch`),
/// never through tmux's command line.
enum TaskDelivery {
    /// The most a task may hold; far above what any harness reads at once.
    static let maxBytes = 16 * 1024 * 1024

    /// Writes (or, without a task, removes) the task file; returns its path.
    static func writeTaskFile(_ task: String?, home: String) throws -> String? {
        let directory = AgentHomeDirectory(home: home)
        guard let task, !task.isEmpty else {
            try directory.remove(HarnessLaunch.taskPath)
            return nil
        }
        guard task.utf8.count <= maxBytes else {
            throw ScionError(.invalidArgument, "the task is \(task.utf8.count) bytes, more than the \(maxBytes) bytes scion passes to an agent; shorten it, or put the material in the worktree and point the task at it")
        }
        do {
            try directory.write(Data(task.utf8), to: HarnessLaunch.taskPath, mode: 0o600)
        } catch {
            throw ScionError.wrap(error, "cannot write the task into the agent home \(home)")
        }
        return home + "/" + HarnessLaunch.taskPath
    }

    /// Refuses a harness command no program could receive, with a sentence
    /// instead of a harness that dies at once with "Argument list too long".
    static func check(_ command: [String], harness: String) throws {
        for argument in command where !HarnessLaunch.fitsInArgument(argument) {
            throw ScionError(
                .invalidArgument,
                "the \(harness) harness would pass an argument of \(argument.utf8.count) bytes, more than the \(HarnessLaunch.maxArgumentBytes) bytes Linux allows one argument; give the task with --task-file, or use a harness config that reads $SCION_TASK_FILE")
        }
    }
}
