import ArgumentParser
import Foundation
import ScionCore

struct Diff: BlockingCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show an agent's work: its commits and its uncommitted files, against the branch checked out here.",
        discussion: """
            The changes are measured from where the agent's branch meets HEAD of the checkout \
            this command runs in (what `scion merge` would bring in), and include the agent \
            worktree's staged, modified and untracked files. On a terminal the patch is colored \
            and paged as your git configuration says (color.diff, color.ui, core.pager, pager.diff).
            """)

    @Argument(help: "The agent.") var name: String
    @Flag(help: "Per-file line counts (like git diff --stat).") var stat = false
    @Flag(name: .customLong("name-only"), help: "Only the names of the changed files.") var nameOnly = false
    @Option(help: "Color: always, never or auto (the default: as git config says, on a terminal).")
    var color: ColorChoice?
    @Flag(name: .customLong("no-pager"), help: "Do not page the output.") var noPager = false
    @OptionGroup var global: GlobalOptions

    enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
        case always, never, auto
    }

    func validate() throws {
        if stat && nameOnly { throw ValidationError("--stat and --name-only cannot be used together") }
    }

    func runBlocking() throws {
        let orchestrator = try global.orchestrator()
        if global.format == .json {
            try Output.json(try orchestrator.diff(name))
            return
        }
        let checkout = try? orchestrator.currentCheckout()
        let output = PagedOutput(
            command: "diff", colorChoice: color == .auto ? nil : color?.rawValue, usePager: !noPager,
            checkout: checkout, environment: orchestrator.context.environment)
        defer { output.finish() }
        if stat || nameOnly {
            let report = try orchestrator.diff(name)
            if nameOnly {
                report.files.forEach { output.write($0.path + "\n") }
            } else {
                DiffStat(report: report).render(to: output)
            }
            return
        }
        _ = try orchestrator.diff(name) { kind, line in
            switch kind {
            case .fileHeader: output.write(line, sgr: "1")
            case .hunkHeader: output.write(line, sgr: "36")
            case .addition: output.write(line, sgr: "32")
            case .deletion: output.write(line, sgr: "31")
            case .context, .note: output.write(line)
            }
        }
    }
}

/// `git diff --stat`'s layout: ` path | 12 +++---` and a summary line.
struct DiffStat {
    var report: AgentDiffReport
    var width = 80

    func render(to output: PagedOutput) {
        let files = report.files
        guard !files.isEmpty else { return }
        let names = files.map { file in file.oldPath.map { "\($0) => \(file.path)" } ?? file.path }
        let nameWidth = min(names.map(\.count).max() ?? 0, 50)
        let counts = files.map { $0.binary ? "Bin" : String($0.additions + $0.deletions) }
        let countWidth = counts.map(\.count).max() ?? 1
        let largest = files.map { $0.additions + $0.deletions }.max() ?? 0
        let graphWidth = max(width - nameWidth - countWidth - 6, 10)
        for (index, file) in files.enumerated() {
            var name = names[index]
            if name.count > nameWidth { name = "..." + name.suffix(nameWidth - 3) }
            let padded = name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let count = String(repeating: " ", count: countWidth - counts[index].count) + counts[index]
            output.write(" \(padded) | \(count)\(file.binary ? "" : " ")")
            if !file.binary {
                var plus = file.additions
                var minus = file.deletions
                if largest > graphWidth {
                    plus = scaled(file.additions, largest, graphWidth)
                    minus = scaled(file.deletions, largest, graphWidth)
                }
                output.write(String(repeating: "+", count: plus), sgr: "32")
                output.write(String(repeating: "-", count: minus), sgr: "31")
            }
            output.write("\n")
        }
        let changed = files.count == 1 ? "1 file changed" : "\(files.count) files changed"
        var summary = " \(changed)"
        if report.additions > 0 || report.deletions == 0 {
            summary += ", \(report.additions) insertion\(report.additions == 1 ? "" : "s")(+)"
        }
        if report.deletions > 0 {
            summary += ", \(report.deletions) deletion\(report.deletions == 1 ? "" : "s")(-)"
        }
        output.write(summary + "\n")
    }

    private func scaled(_ value: Int, _ largest: Int, _ width: Int) -> Int {
        value == 0 ? 0 : max(1, value * width / largest)
    }
}
