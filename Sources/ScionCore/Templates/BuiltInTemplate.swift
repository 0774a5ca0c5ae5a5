/// The built-in `default` template: the base layer of every agent. Its
/// agents.md is the instructions every agent gets in the file its harness
/// reads (CLAUDE.md, GEMINI.md, AGENTS.md).
enum BuiltInTemplate {
    static let defaultName = "default"

    static let defaultTemplate = Template(
        name: defaultName, source: .builtIn, directory: nil,
        description: "The base layer of every agent: git rules and how to report status",
        env: [:], volumes: [], instructions: instructions, systemPrompt: nil)

    static let instructions = """
        # You are scion agent {{agent}}

        You work in your own git worktree on branch `{{branch}}`, alongside other agents
        that each have their own. Rules:

        - Commit your work on your branch with clear messages; do not switch
          branches, rebase others' work or push unless asked.
        - Stay inside your worktree; other agents' files are not yours.
        - Report your state so the person running you can see it:
          `scion status ask_user "question"` when you need an answer,
          `scion status blocked "reason"` when you cannot go on,
          `scion status task_completed "summary"` when you are done.
        - You can start helpers with `scion start <name> "<task>"` and talk to
          them with `scion message <name> "<text>"`; `scion list` shows them.
          (Inside a container these need the host broker, which is not built yet.)

        """
}
