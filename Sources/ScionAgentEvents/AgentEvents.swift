#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What an agent records about itself. This module links only the C library
// (no Foundation), so `scion-agent`, built from it with the static Swift
// standard library, runs in any container image. The host reads the file
// (ScionCore's EventLog), normalizes hook events through the harness plugin
// and keeps the status file; nothing here interprets an event.

/// `$HOME/.scion/events.jsonl`: one JSON object per line, appended by
/// `scion-agent` (or `scion hook` / `scion status` on the host) with
/// O_APPEND in a single write, so concurrent hooks never interleave.
///
///     {"at":"2026-05-01T10:00:00.123Z","event":"Stop","harness":"claude","kind":"hook","payload":{...}}
///     {"at":"2026-05-01T10:00:01.456Z","event":"ask_user","kind":"status","message":"which database?"}
///     {"at":"2026-05-01T10:00:02.789Z","event":"message","kind":"input"}
public enum AgentEvents {
    public static let relativePath = ".scion/events.jsonl"

    /// Kinds of line: a harness hook, an explicit report by the agent, and
    /// new input typed into the agent by the host (`scion message`).
    public static let hookKind = "hook"
    public static let statusKind = "status"
    public static let inputKind = "input"

    /// Longest string value kept from a hook payload. Hook payloads can carry
    /// whole files (a Write tool's content, a Read tool's response); status
    /// only needs names, commands and a one-line summary.
    public static let payloadStringLimit = 1024

    /// Records a harness hook event. `payload` is the harness's JSON (stdin
    /// or argument); invalid JSON is kept as a string.
    public static func recordHook(home: String, harness: String, event: String, payload: [UInt8]) throws {
        let value = CompactJSON.compact(payload, stringLimit: payloadStringLimit) ?? CompactJSON.string(payload)
        try append(home: home, fields: [
            ("event", CompactJSON.string(event)), ("harness", CompactJSON.string(harness)),
            ("kind", CompactJSON.string(hookKind)), ("payload", value),
        ])
    }

    /// Records an explicit report (`scion status ask_user "question"`).
    public static func recordStatus(home: String, kind: StatusKind, message: String?) throws {
        var fields = [("event", CompactJSON.string(kind.rawValue)), ("kind", CompactJSON.string(statusKind))]
        if let message, !message.isEmpty { fields.append(("message", CompactJSON.string(message))) }
        try append(home: home, fields: fields)
    }

    /// Records that the host typed new input into the agent: new work starts.
    public static func recordInput(home: String) throws {
        try append(home: home, fields: inputFields)
    }

    /// The line `recordInput` appends, for a host that appends it through
    /// its runtime (an agent whose home is not on this host).
    public static func inputLine() -> [UInt8] { line(fields: inputFields) }

    static let inputFields = [("event", CompactJSON.string("message")), ("kind", CompactJSON.string(inputKind))]

    static func line(fields: [(String, [UInt8])]) -> [UInt8] {
        var line: [UInt8] = Array("{\"at\":".utf8) + CompactJSON.string(Clock.iso8601Now())
        for (key, value) in fields {
            line += Array(",".utf8) + CompactJSON.string(key) + Array(":".utf8) + value
        }
        line += Array("}\n".utf8)
        return line
    }

    static func append(home: String, fields: [(String, [UInt8])]) throws {
        let line = line(fields: fields)
        // The home may be the agent's to rewrite: neither `.scion` nor the
        // file is followed if it is a link (the host appends here too).
        let directory = home + "/.scion"
        let path = home + "/" + relativePath
        let homeFD = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard homeFD >= 0 else { throw AgentEventError("cannot open \(home)", errno: errno) }
        defer { close(homeFD) }
        if mkdirat(homeFD, ".scion", 0o755) != 0 && errno != EEXIST {
            throw AgentEventError("cannot create \(directory)", errno: errno)
        }
        let scionFD = openat(homeFD, ".scion", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard scionFD >= 0 else { throw AgentEventError("cannot open \(directory) (a link is never followed)", errno: errno) }
        defer { close(scionFD) }
        let fd = openat(scionFD, "events.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AgentEventError("cannot open \(path) (a link is never followed)", errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw AgentEventError("cannot append to \(path): not a regular file", errno: EINVAL)
        }
        defer { close(fd) }
        // One write: O_APPEND makes it land whole at the end of the file.
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw AgentEventError("cannot append to \(path)", errno: errno) }
    }

    /// Everything on standard input; nothing when it is a terminal.
    public static func readStandardInput() -> [UInt8] {
        guard isatty(0) == 0 else { return [] }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count > 0 {
                data += buffer[0..<count]
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return data
            }
        }
    }
}

/// The words agents report their state with (`scion status <kind>`).
public enum StatusKind: String, CaseIterable, Sendable {
    case askUser = "ask_user"
    case blocked
    case taskCompleted = "task_completed"
    case working

    /// The kind for a word, accepting the activity names as synonyms.
    public init?(word: String) {
        switch word {
        case "ask_user", "waiting_for_input": self = .askUser
        case "blocked": self = .blocked
        case "task_completed", "completed", "done": self = .taskCompleted
        case "working", "thinking": self = .working
        default: return nil
        }
    }

    public static let usage = "ask_user, blocked, task_completed or working"
}

public struct AgentEventError: Error, CustomStringConvertible {
    public let description: String

    init(_ context: String, errno code: Int32) {
        description = "\(context): \(String(cString: strerror(code)))"
    }
}

enum Clock {
    /// UTC, millisecond precision: `2026-05-01T10:00:00.123Z`.
    static func iso8601Now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(Int(now.tv_nsec) / 1_000_000, 3))Z"
    }
}
