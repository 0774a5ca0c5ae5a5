import Foundation
import ScionPluginKit

// Helpers the harness plugins share (linked into each plugin image, like
// ScionPluginKit itself).

/// POSIX shell quoting, for the hook "command" strings the harness runs
/// through `sh -c` / `bash -c`.
public enum Shell {
    private static let plain = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,")

    public static func quote(_ argument: String) -> String {
        if !argument.isEmpty, argument.unicodeScalars.allSatisfy({ plain.contains($0) }) {
            return argument
        }
        return "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}

public enum Text {
    /// One line, at most `limit` characters: whitespace runs collapse to a
    /// space and a cut is marked with an ellipsis.
    public static func summary(_ text: String?, limit: Int = 160) -> String? {
        guard let text else { return nil }
        let line = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        guard !line.isEmpty else { return nil }
        guard line.count > limit else { return line }
        return String(line.prefix(max(limit - 1, 1))) + "…"
    }

    /// The text ending in exactly the newline it had, or one.
    public static func withNewline(_ text: String) -> String {
        text.hasSuffix("\n") ? text : text + "\n"
    }

    /// nil for nil, empty or all-whitespace strings.
    public static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return text
    }
}

/// The task as a harness's prompt argument.
public enum TaskArgument {
    /// The task itself when it fits in one argument (with `reserve` bytes to
    /// spare for an option it is glued to), else a short prompt that points
    /// the agent at the task file, which holds the task byte for byte.
    public static func prompt(_ request: ProvisionRequest, reserve: Int = 64) -> String? {
        guard let task = Text.nonEmpty(request.task) else { return nil }
        guard task.utf8.count + reserve > HarnessLaunch.maxArgumentBytes, let file = request.taskFile else { return task }
        return "Your task is in the file \(file) (\(task.utf8.count) bytes; it was too long to pass as an argument). "
            + "Read the whole file first, then do what it says."
    }
}

public enum JSONText {
    /// Pretty JSON (two-space indent, sorted keys, final newline). Strings go
    /// through JSONEncoder, so quotes, backslashes and control characters in
    /// paths and commands are escaped correctly.
    public static func render(_ value: JSONValue) throws -> String {
        var out = ""
        try write(value, indent: "", into: &out)
        return out + "\n"
    }

    private static func write(_ value: JSONValue, indent: String, into out: inout String) throws {
        let inner = indent + "  "
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number):
            if number == number.rounded(), abs(number) < 1e15 { out += String(Int64(number)) } else { out += "\(number)" }
        case .string(let text): out += try string(text)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                try write(item, indent: inner, into: &out)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let object):
            guard !object.isEmpty else { out += "{}"; return }
            out += "{\n"
            let keys = object.keys.sorted()
            for (index, key) in keys.enumerated() {
                out += inner + (try string(key)) + ": "
                try write(object[key]!, indent: inner, into: &out)
                out += index == keys.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        }
    }

    public static func string(_ text: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(text), as: UTF8.self)
    }
}

extension JSONValue {
    /// The payload as an object: a JSON string holding an object (a hook
    /// payload that arrived as an argv argument) is decoded.
    public var objectValue: [String: JSONValue]? {
        switch self {
        case .object(let object): return object
        case .string(let text):
            guard let data = text.data(using: .utf8),
                  case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data)
            else { return nil }
            return object
        default: return nil
        }
    }
}

/// The user's environment and home directory as `resolve_auth` sees them.
public struct HostEnvironment {
    public let env: [String: String]
    public let home: String

    public init(_ request: ResolveAuthRequest) {
        env = request.hostEnv
        home = request.hostHome
    }

    /// The variable's value, nil when unset or blank.
    public func value(_ name: String) -> String? {
        Text.nonEmpty(env[name])
    }

    /// The first of `names` that is set, with its value.
    public func first(_ names: [String]) -> (name: String, value: String)? {
        for name in names {
            if let value = value(name) { return (name, value) }
        }
        return nil
    }

    public func isTrue(_ name: String) -> Bool {
        guard let value = value(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }

    /// `path` made absolute (`~/x` and relative paths are under the home).
    public func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + "/" + path.dropFirst(2) }
        return home + "/" + path
    }

    /// The path when it names a readable regular file.
    public func readableFile(_ path: String) -> String? {
        let path = absolute(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: path)
        else { return nil }
        return path
    }
}

/// One way to authenticate, as the auth resolver tries it.
public struct AuthOption {
    public let type: String
    /// How the user provides it, for error messages (never a value).
    public let howTo: String
    /// The resolved auth when the credential is there. `selected` is true
    /// when the user named this method, false during detection (a method
    /// may then also want its opt-in switch, such as CLAUDE_CODE_USE_VERTEX).
    public let resolve: (_ selected: Bool) -> ResolvedAuth?

    public init(type: String, howTo: String, resolve: @escaping (_ selected: Bool) -> ResolvedAuth?) {
        self.type = type
        self.howTo = howTo
        self.resolve = resolve
    }
}

public enum AuthResolver {
    /// Honours `selected` (after `aliases`), else tries `options` in order.
    /// "none" selects no credentials.
    public static func resolve(
        harness: String, selected rawSelected: String?, options: [AuthOption], aliases: [String: String]
    ) throws -> ResolvedAuth {
        let valid = options.map(\.type)
        if let raw = Text.nonEmpty(rawSelected)?.trimmingCharacters(in: .whitespaces).lowercased() {
            if raw == "none" { return ResolvedAuth(method: "none") }
            guard let type = valid.contains(raw) ? raw : aliases[raw] else {
                throw PluginError(
                    .invalidArgument,
                    "the \(harness) harness has no auth method \"\(raw)\"; valid methods: "
                        + (valid + ["none"]).joined(separator: ", "),
                    details: ["valid": .array((valid + ["none"]).map(JSONValue.string))])
            }
            let option = options.first { $0.type == type }!
            if let auth = option.resolve(true) {
                PluginLog.debug("\(harness): using the selected auth method \(type)")
                return auth
            }
            throw missing(harness: harness, wanted: type, options: options)
        }
        for option in options {
            if let auth = option.resolve(false) {
                PluginLog.debug("\(harness): detected auth method \(option.type)")
                return auth
            }
        }
        throw missing(harness: harness, wanted: nil, options: options)
    }

    public static func missing(harness: String, wanted: String?, options: [AuthOption]) -> PluginError {
        let available = options.filter { $0.type != wanted && $0.resolve(true) != nil }.map(\.type)
        var message = wanted.map { "the \(harness) harness was asked for auth method \($0), but its credential is missing" }
            ?? "the \(harness) harness found no credentials"
        message += ". Ways to authenticate: "
        message += options.map { "\($0.type): \($0.howTo)" }.joined(separator: "; ")
        if !available.isEmpty {
            message += ". Available now: \(available.joined(separator: ", ")) (choose with --harness-auth or auth_selected_type)"
        }
        message += ". Or start with --no-auth to inject none."
        return PluginError(
            .failedPrecondition, message,
            details: [
                "methods": .array(options.map { .string($0.type) }),
                "available": .array(available.map(JSONValue.string)),
            ])
    }
}

public enum ToolDetail {
    /// "Bash: npm test", "Edit: Sources/App.swift" and the like: the tool's
    /// name and its most telling argument.
    public static func describe(tool: String?, input: JSONValue?) -> String? {
        guard let tool = Text.nonEmpty(tool) else { return nil }
        let keys = ["command", "file_path", "absolute_path", "path", "notebook_path", "pattern", "url", "query",
                    "description"]
        if let object = input?.objectValue,
           let detail = keys.lazy.compactMap({ object[$0]?.stringValue }).compactMap({ Text.nonEmpty($0) }).first {
            return Text.summary("\(tool): \(detail)", limit: 120)
        }
        return tool
    }
}

public enum GitWorktree {
    /// The directories a harness should trust for an agent working in
    /// `workdir`: the worktree itself and, when it is a linked worktree, the
    /// main repository's root (Codex keys trust by the main repository of a
    /// worktree; the others by the working directory or a parent of it).
    public static func trustedDirectories(for workdir: String) -> [String] {
        guard let root = mainRepositoryRoot(of: workdir), root != workdir else { return [workdir] }
        return [workdir, root]
    }

    /// The main repository's root for a linked worktree: `<workdir>/.git` is
    /// a file naming `<repo>/.git/worktrees/<name>`, whose `commondir` leads
    /// back to `<repo>/.git`. nil for a main worktree, a bare repository or
    /// a directory that is not a worktree.
    public static func mainRepositoryRoot(of workdir: String) -> String? {
        // The worktree is the agent's: its `.git` is read without following a link.
        guard let pointer = UntrustedDirectory(workdir).text(".git") else { return nil }
        let line = pointer.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard line.hasPrefix("gitdir:") else { return nil }
        var gitDir = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
        if !gitDir.hasPrefix("/") { gitDir = (workdir as NSString).appendingPathComponent(gitDir) }
        let common: String
        if let relative = try? String(contentsOfFile: gitDir + "/commondir", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !relative.isEmpty {
            common = relative.hasPrefix("/") ? relative : (gitDir as NSString).appendingPathComponent(relative)
        } else {
            common = ((gitDir as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        }
        let standardized = (common as NSString).standardizingPath
        guard (standardized as NSString).lastPathComponent == ".git" else { return nil }
        return (standardized as NSString).deletingLastPathComponent
    }
}

/// Events every harness dialect shares.
public enum SessionEvents {
    /// A session's end: `/clear` ends one and starts another in the same
    /// process, anything else means the harness is done.
    public static func ended(reason: String?) -> ActivityUpdate {
        if reason == "clear" { return ActivityUpdate(activity: .idle, message: "session cleared") }
        return ActivityUpdate(activity: .completed, message: reason.map { "session ended: \($0)" })
    }
}

/// A hook event's JSON object, read the way every dialect needs it.
public struct HookPayload {
    public let object: [String: JSONValue]

    public init(_ event: HookEvent) {
        object = event.payload.objectValue ?? [:]
    }

    /// A field's text; nil when missing or blank.
    public func field(_ key: String) -> String? { Text.nonEmpty(object[key]?.stringValue) }

    /// The first of the invocation's event name and the payload's
    /// `hook_event_name` that the dialect knows.
    public func eventName(_ event: HookEvent, known: Set<String>) -> String? {
        [event.event, object["hook_event_name"]?.stringValue ?? ""].first { known.contains($0) }
    }
}
