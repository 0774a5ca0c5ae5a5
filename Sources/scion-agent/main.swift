#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ScionAgentEvents

// The in-agent helper: records hook events and status reports into
// $HOME/.scion/events.jsonl for the host to read. Built with the static
// Swift standard library, so it runs in any container the host mounts it
// into (read-only, as /usr/local/bin/scion-agent and /usr/local/bin/scion).

let arguments = Array(CommandLine.arguments.dropFirst())
let calledAs = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "scion-agent"
let environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }

func printError(_ message: String) {
    let line = Array("\(calledAs): \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32) -> Never {
    printError(message)
    exit(status)
}

func usage() -> String {
    """
    usage: \(calledAs) hook --harness <harness> <event> [payload-json]
           \(calledAs) status ask_user|blocked|task_completed|working [message...]
    """
}

guard let home = environment("HOME"), !home.isEmpty else {
    // A hook must never block the harness: exit 0 even here.
    if arguments.first == "hook" {
        _ = AgentEvents.readStandardInput()
        exit(0)
    }
    fail("HOME is not set", status: 1)
}

switch arguments.first {
case "hook":
    // Always exits 0 and prints nothing on stdout: Claude Code adds a hook's
    // stdout to the model's context, Gemini CLI parses it as JSON.
    var rest = Array(arguments.dropFirst())
    var harness: String?
    if let flag = rest.firstIndex(where: { $0 == "--harness" || $0.hasPrefix("--harness=") }) {
        if rest[flag] == "--harness", flag + 1 < rest.count {
            harness = rest[flag + 1]
            rest.removeSubrange(flag...(flag + 1))
        } else if rest[flag].hasPrefix("--harness=") {
            harness = String(rest[flag].dropFirst("--harness=".count))
            rest.remove(at: flag)
        }
    }
    guard let harness, let event = rest.first else {
        // Drain the event, so the harness writing it never sees a broken pipe.
        _ = AgentEvents.readStandardInput()
        printError(usage())
        exit(0)
    }
    let payload = rest.count > 1 ? Array(rest[1].utf8) : AgentEvents.readStandardInput()
    do {
        try AgentEvents.recordHook(home: home, harness: harness, event: event, payload: payload)
    } catch {
        printError("hook: \(error)")
    }
    exit(0)

case "status":
    guard arguments.count >= 2 else { fail(usage(), status: 2) }
    guard let kind = StatusKind(word: arguments[1]) else {
        fail("unknown status \"\(arguments[1])\": use \(StatusKind.usage)", status: 2)
    }
    guard environment("SCION_AGENT") != nil else {
        fail("status is for agents to report their own state; run it inside an agent", status: 1)
    }
    let message = arguments.dropFirst(2).joined(separator: " ")
    do {
        try AgentEvents.recordStatus(home: home, kind: kind, message: message.isEmpty ? nil : message)
    } catch {
        fail("\(error)", status: 1)
    }
    exit(0)

case "-h", "--help", "help" where calledAs != "scion" || environment(BrokerWire.socketVariable) == nil:
    print(usage())
    exit(0)

case let command?:
    if calledAs == "scion" {
        // Every other command runs on the host, through the grove broker,
        // as this agent (the socket is the identity, not the environment).
        let socket = environment(BrokerWire.socketVariable).flatMap { $0.isEmpty ? nil : $0 } ?? BrokerWire.containerSocket
        do {
            exit(try BrokerWire.run(socketPath: socket, arguments: arguments))
        } catch .inputTooLarge {
            fail(
                "standard input is larger than \(BrokerWire.maxStandardInput >> 20) MB, the most the grove broker forwards: "
                    + "write the text to a file in your worktree and give it with --task-file FILE", status: 2)
        } catch .unreachable(let reason) {
            fail(
                "`scion \(command)` runs on the host through the grove broker, and \(reason); any scion command "
                    + "in the grove on the host (for example `scion list`) starts it again. "
                    + "`scion status` and `scion hook` work without it.", status: 7)
        }
    }
    fail("unknown command \"\(command)\"\n\(usage())", status: 2)

case nil:
    fail(usage(), status: 2)
}
