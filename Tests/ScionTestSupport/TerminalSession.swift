import Foundation

/// A real terminal for interactive commands (`scion attach`): a tmux session
/// of its own on a private socket, driven with send-keys and read with
/// capture-pane. Its pane stays after the command exits, showing the status.
public final class TerminalSession: @unchecked Sendable {
    let socketDirectory: TemporaryDirectory
    var environment: [String: String] { ["TMUX_TMPDIR": socketDirectory.path, "PATH": "/usr/bin:/bin"] }

    public init(running argv: [String], environment extra: [String: String]) throws {
        socketDirectory = try TemporaryDirectory("term")
        let exports = extra.map { ["-e", "\($0.key)=\($0.value)"] }.flatMap { $0 }
        try Shell.check(
            ["env", "TMUX_TMPDIR=\(socketDirectory.path)", "tmux", "new-session", "-d", "-s", "term", "-x", "120", "-y", "30"]
                + exports + ["--", "sh", "-c", Self.reportingExit, "sh"] + argv
                + [";", "set-option", "-t", "term", "remain-on-exit", "on"])
    }

    public func screen() -> String {
        (try? Shell.run(["tmux", "capture-pane", "-p", "-t", "term"], environment: environment).stdout) ?? ""
    }

    public func type(_ keys: String...) throws {
        try Shell.run(["tmux", "send-keys", "-t", "term"] + keys, environment: environment)
    }

    /// Runs the command and prints how it ended: a tmux server started from
    /// a test thread inherits a blocked SIGCHLD and may never see its pane
    /// die, but `sh` waits for its child all the same.
    static let reportingExit = #""$@"; echo "[terminal: exited with status $?]""#

    /// True once the command ended with exit status 0.
    public var endedCleanly: Bool { screen().contains("[terminal: exited with status 0]") }

    deinit {
        _ = try? Shell.run(["tmux", "kill-server"], environment: environment)
    }
}
