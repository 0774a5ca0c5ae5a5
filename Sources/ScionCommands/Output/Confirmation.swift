import Foundation
import ScionCore
#if canImport(Glibc)
import Glibc
#endif

/// Asking the user to confirm: `--yes` answers yes, `--non-interactive`
/// (or no terminal on stdin and stderr) answers no, otherwise the question
/// goes to stderr and a line is read from stdin.
enum Confirmation {
    static func ask(_ question: String, _ global: GlobalOptions) -> Bool {
        if global.yes { return true }
        guard !global.nonInteractive, isatty(STDIN_FILENO) == 1, isatty(STDERR_FILENO) == 1 else { return false }
        FileHandle.standardError.write(Data(question.utf8))
        guard let answer = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces).lowercased() else {
            FileHandle.standardError.write(Data("\n".utf8))
            return false
        }
        return answer == "y" || answer == "yes"
    }
}

extension DeleteOutcome {
    /// "deleted api", and what it threw away with the way back.
    var plainLines: [String] {
        var lines = ["deleted \(name)"]
        if let discarded {
            var line = "  discarded \(discarded.summary)"
            if let tip = discarded.shortTip, let branch = discarded.branch {
                line += discarded.deletesBranch ? "; its branch tip was \(tip)" : "; branch \(branch) is kept, at \(tip)"
            }
            lines.append(line)
            if let recovery = discarded.recovery {
                lines.append("  \(discarded.unmergedCommits > 0 ? "to get the commits back" : "to restore the branch"): \(recovery)")
            }
        }
        return lines
    }
}
