/// The built-in `default` template: the base layer of every agent. Its
/// agents.md is the instructions every agent gets in the file its harness
/// reads (CLAUDE.md, GEMINI.md, AGENTS.md).
enum BuiltInTemplate {
    static let defaultName = "default"

    static let defaultTemplate = Template(
        name: defaultName, source: .builtIn, directory: nil,
        description: "The base layer of every agent: git rules and how to report status",
        env: [:], volumes: [], instructions: instructions, systemPrompt: nil)

    /// `scion help agents` prints the same text, for the agent "<you>".
    public static let instructions = """
        # You are scion agent {{agent}}

        You work in your own git worktree on branch `{{branch}}`, alongside other agents
        that each have their own. The `scion` command works inside you too.

        ## Git rules

        - Work on your branch and commit often, with clear messages. Do not switch
          branches, rebase others' work, or push (unless you are asked to).
        - Stay inside your worktree; other agents' files are not yours.
        - Bring a child's work into your branch with `scion merge <child>` (look
          first with `scion diff <child>`), then commit if the merge asks you to.

        ## Reporting your state

        - `scion status ask_user "question"` when you need an answer,
        - `scion status blocked "reason"` when you cannot go on,
        - `scion status task_completed "summary"` when you are done,
        - `scion status working` when you start again.

        ## Sub-agents (children)

        Split work that can go in parallel among children; each gets its own worktree
        on a branch made from yours, so it sees your commits (commit before you start it).

            scion start <child> "<task>"            # a child, branched from {{branch}}
            scion start <child> --task-file task.md  # a long task from a file ('-': stdin)
            scion list                               # the grove's agents as a tree
            scion message <child> "<text>"           # type into an agent (--broadcast: all)
            scion look <child>                       # its screen
            scion wait <child> [--timeout 30m]       # until it completes, needs input, fails
            scion diff <child>; scion merge <child>  # bring its work into your branch
            scion delete <child>                     # when its work is merged

        `scion wait` exits 0 when the child completed, 10 when it waits for input,
        11 blocked, 12 failed, 13 stopped, 14 timed out. You are also told in your
        own window when a child completes or needs input: a line starting `[scion]`.

        You may start children, message, look at and diff the agents of your grove,
        wait on, stop and delete your own descendants, and merge their work into
        your own branch (from your worktree); not your parent, siblings,
        other groves or the host's settings. Limits (`scion config get agents`)
        cap how many children you may have, how deep the tree may grow and which
        harness configs and profiles children may use; a refusal exits 15 and says which.

        """
}

/// The default agent instructions as `scion help agents` prints them.
public enum AgentInstructions {
    public static var text: String {
        BuiltInTemplate.instructions
            .replacingOccurrences(of: "# You are scion agent {{agent}}", with: "# What scion agents are told (the default template's instructions)")
            .replacingOccurrences(of: "{{branch}}", with: "<your branch>")
            .replacingOccurrences(of: "{{agent}}", with: "<agent>")
    }
}
