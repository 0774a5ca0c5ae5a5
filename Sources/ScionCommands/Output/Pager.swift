import Foundation
import ScionCore
#if canImport(Glibc)
import Glibc
#endif

/// Long output for people, through the user's pager and in color as their
/// git configuration says (`color.ui`, `color.<command>`, `core.pager`,
/// `pager.<command>`, `GIT_PAGER`, `PAGER`), the way git would show it.
/// Off the terminal it writes plain text to stdout.
final class PagedOutput {
    let color: Bool
    private var pager: Process?
    private var input: Int32 = 1
    private var buffer: [UInt8] = []

    /// `command` is git's name for the configuration (`diff`); `colorChoice`
    /// `always`, `never` or nil (`auto`, from the configuration).
    init(command: String, colorChoice: String?, usePager: Bool, checkout: Checkout?, environment: [String: String]) {
        let terminal = isatty(1) == 1
        let configured = colorChoice ?? checkout?.config("color.\(command)") ?? checkout?.config("color.ui") ?? "auto"
        switch configured.lowercased() {
        case "always": color = true
        case "never", "false", "no", "off", "0": color = false
        default: color = terminal && environment["TERM"] != "dumb" && environment["NO_COLOR"] == nil
        }
        guard terminal, usePager, let program = Self.pagerCommand(command, checkout: checkout, environment: environment) else { return }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The pager is the user's own setting, a shell command by git's definition.
        process.arguments = ["-c", program]
        var pagerEnvironment = environment
        if pagerEnvironment["LESS"] == nil { pagerEnvironment["LESS"] = "FRX" }
        if pagerEnvironment["LV"] == nil { pagerEnvironment["LV"] = "-c" }
        process.environment = pagerEnvironment
        process.standardInput = FileHandle(fileDescriptor: pipeEnds[0], closeOnDealloc: true)
        do {
            try process.run()
        } catch {
            close(pipeEnds[1])
            return
        }
        signal(SIGPIPE, SIG_IGN)
        pager = process
        input = pipeEnds[1]
    }

    /// The pager to run, nil for none (`cat`, empty, or `pager.<command>` false).
    static func pagerCommand(_ command: String, checkout: Checkout?, environment: [String: String]) -> String? {
        if let setting = checkout?.config("pager.\(command)")?.lowercased(), ["false", "no", "off", "0"].contains(setting) {
            return nil
        }
        let program = environment["GIT_PAGER"] ?? checkout?.config("core.pager") ?? environment["PAGER"] ?? "less"
        let trimmed = program.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty || trimmed == "cat" ? nil : trimmed
    }

    /// `text`, in `sgr` (an SGR parameter such as "32") when colored.
    func write(_ text: String, sgr: String? = nil) {
        if color, let sgr {
            buffer += Array("\u{1B}[\(sgr)m".utf8)
            var body = Substring(text)
            let newline = body.hasSuffix("\n")
            if newline { body = body.dropLast() }
            buffer += Array(body.utf8)
            buffer += Array("\u{1B}[m".utf8)
            if newline { buffer.append(10) }
        } else {
            buffer += Array(text.utf8)
        }
        if buffer.count >= 1 << 16 { flush() }
    }

    private func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer[offset...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            // The pager quit (q): the rest is not wanted.
            if written <= 0 { break }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is left and waits for the pager to end.
    func finish() {
        flush()
        guard let pager else { return }
        close(input)
        pager.waitUntilExit()
    }
}
