/// The tmux commands every runtime runs, so an agent's session looks the
/// same wherever it lives. Each function returns tmux arguments (without
/// the `tmux` program and socket options), ready to run through argv.
public enum Tmux {
    /// Where, relative to HOME, the agent window's output is appended.
    public static let logPath = ".scion/agent.log"
    /// Where, relative to HOME, the harness's exit status is written.
    public static let exitPath = ".scion/exit-status"

    /// Runs the harness argv, read back from `HarnessLaunch.launchPath`
    /// (one file per argument, written by the runtime), and writes its exit
    /// status to `exitPath`; first it exports each variable found in the
    /// launch folder's `environmentFolder` (one file per variable, named
    /// after it: the secrets a container runtime keeps out of the
    /// container's spec). The tmux command line and the container's
    /// command thus stay short and fixed, whatever the task's size. tmux's
    /// own pane-died hook is not enough for the status: tmux 3.3a built
    /// with libutempter resets SIGCHLD while its utempter helper runs, so a
    /// harness that exits then is never reaped and its status is lost. The
    /// wrapper keeps keyboard signals (C-c, C-\) for the harness: a caught
    /// signal is reset to its default in the child, an ignored one would not be.
    public static let harnessWrapper = [
        "sh", "-c",
        "trap : INT QUIT; d=\"$HOME/\(HarnessLaunch.launchPath)\"; "
            // Secret variables a container runtime kept out of the engine's spec.
            + "for f in \"$d/\(HarnessLaunch.environmentFolder)\"/*; do [ -f \"$f\" ] || continue; "
            + "v=$(cat \"$f\" && printf x) || exit 127; export \"${f##*/}=${v%x}\"; done; unset f v; "
            + "set --; i=0; "
            + "while [ -f \"$d/$i\" ]; do a=$(cat \"$d/$i\" && printf x) || exit 127; set -- \"$@\" \"${a%x}\"; i=$((i + 1)); done; "
            + "[ \"$#\" -gt 0 ] || { echo \"scion: no harness command in $d\" >&2; printf 127 > \"$HOME/\(exitPath)\"; exit 127; }; "
            + "\"$@\"; status=$?; printf %s \"$status\" > \"$HOME/\(exitPath)\"; exit \"$status\"",
        "scion-harness",
    ]

    /// tmux splits its argv into commands at any argument ending in ";".
    /// Escaping that last ";" keeps the argument literal.
    public static func escape(_ argument: String) -> String {
        argument.hasSuffix(";") ? String(argument.dropLast()) + "\\;" : argument
    }

    /// Creates the session: the agent window runs the harness (through
    /// `harnessWrapper`, from the argv the runtime wrote with
    /// `HarnessLaunch.write`) in `workdir`, its output is logged, and a
    /// shell window is opened beside it.
    public static func newSession(_ layout: SessionLayout, workdir: String, detached: Bool) -> [String] {
        var arguments = ["new-session"]
        if detached { arguments.append("-d") }
        arguments += ["-s", layout.session, "-n", layout.agentWindow, "-x", "200", "-y", "50", "-c", workdir, "--"]
        arguments += harnessWrapper.map(escape)
        arguments += [";", "pipe-pane", "-o", "-t", layout.agentTarget, "exec cat >> \"$HOME/\(logPath)\""]
        arguments += [";", "new-window", "-d", "-t", "\(layout.session):", "-n", layout.shellWindow, "-c", workdir]
        return arguments
    }

    /// The server options every agent session gets, as a tmux config file:
    /// the pane stays after the harness exits (so `look` still shows its
    /// last screen) and its exit status is written to `exitPath`.
    public static func configFile(userConfig: String?) -> String {
        var lines = [
            "set-option -g remain-on-exit on",
            "set-option -g history-limit 50000",
            "set-hook -g pane-died 'run-shell \"printf %s #{pane_dead_status} > \\\"$HOME/\(exitPath)\\\"\"'",
        ]
        if let userConfig {
            lines.append("source-file -q \(quote(userConfig))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The agent window's screen; with `includingLastHistoryLine`, the line
    /// that scrolled into the history first (tmux scrolls a dead pane up one
    /// line to write "Pane is dead" on its last row).
    public static func capture(_ layout: SessionLayout, includingLastHistoryLine: Bool = false) -> [String] {
        ["capture-pane", "-p", "-J"] + (includingLastHistoryLine ? ["-S", "-1"] : []) + ["-t", layout.agentTarget]
    }

    /// What `ifPaneAlive` prints when the agent window's pane is dead.
    public static let paneDeadMarker = "scion-pane-dead"

    /// Runs `commands` only if the agent window's harness still runs, else
    /// prints `paneDeadMarker`: tmux 3.3a crashes when a dead pane is typed
    /// into. The check and the commands run in one command queue of the
    /// server, so the pane cannot die in between.
    public static func ifPaneAlive(_ layout: SessionLayout, _ commands: [String], orElse: [String] = []) -> [String] {
        let dead = orElse + ["display-message", "-p", paneDeadMarker]
        return ["if-shell", "-F", "-t", layout.agentTarget, "#{pane_dead}", commandString(dead), commandString(commands)]
    }

    /// Types `text` (read from the client's stdin) into the agent window as a
    /// bracketed paste, then presses Enter; into a dead pane nothing is typed
    /// (see `ifPaneAlive`).
    public static func pasteAndEnter(_ layout: SessionLayout) -> [String] {
        ["load-buffer", "-b", "scion-message", "-", ";"]
            + ifPaneAlive(
                layout,
                ["paste-buffer", "-p", "-d", "-b", "scion-message", "-t", layout.agentTarget, ";",
                 "send-keys", "-t", layout.agentTarget, "Enter"],
                orElse: ["delete-buffer", "-b", "scion-message", ";"])
    }

    public static func sendKey(_ layout: SessionLayout, key: String) -> [String] {
        sendKeys(layout, keys: [key])
    }

    /// Presses `keys` (tmux key names) in the agent window, in order.
    public static func sendKeys(_ layout: SessionLayout, keys: [String]) -> [String] {
        ["send-keys", "-t", layout.agentTarget] + keys
    }

    /// tmux arguments as one command string for `if-shell` (each argument
    /// quoted; a lone ";" separates commands).
    static func commandString(_ arguments: [String]) -> String {
        arguments.map { $0 == ";" ? ";" : quoteCommandArgument($0) }.joined(separator: " ")
    }

    static func quoteCommandArgument(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func attach(_ layout: SessionLayout) -> [String] {
        ["attach-session", "-t", layout.session]
    }

    /// Quotes a string for tmux's configuration syntax (double quotes,
    /// escaping what tmux would otherwise expand).
    static func quote(_ text: String) -> String {
        var quoted = "\""
        for character in text {
            if "\\\"$~".contains(character) { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
