import Foundation
import Yams

/// Changes one key in a settings file. The change is refused (exit 2, the
/// file untouched) when the key is not one scion knows, or when the layered
/// result would be invalid: a wrong shape, a reference to a profile,
/// runtime or harness config that does not exist. The file's text is edited
/// in place for the changed key, so its comments and quoting stay; only a
/// layout the in-place edit does not handle (a flow mapping to add a key
/// to, a block value to replace) is re-serialized. The file is replaced
/// atomically.
public enum SettingsEditor {
    public enum Outcome: Sendable, Equatable {
        case changed
        /// `unset` of a key the file does not set.
        case unchanged
    }

    public static func set(_ key: String, value: String, in file: String, loader: SettingsLoader) throws {
        let path = try keyPath(key)
        let origin = SettingsOrigin(file)
        let valueNode = try parseValue(value, origin: origin)
        try checkKnown(path, value: valueNode)
        let current = try SettingsLoader.readFile(file) ?? .emptyMapping(origin)
        var updated = current.setting(valueNode, at: path[...])
        var text = FileManager.default.contents(atPath: file).flatMap { String(data: $0, encoding: .utf8) } ?? ""
        if updated.node(at: ["schema_version"]) == nil {
            updated = SettingsNode.emptyMapping(origin)
                .setting(SettingsNode(.scalar("1"), origin: origin), at: ["schema_version"]).merged(with: updated)
            text = "schema_version: \"1\"\n" + text
        }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let edited = edit(text, expecting: updated) { edit in
            edit.set(path) { style in
                valueNode.scalar.map { SettingsScalarText.render($0, like: style) } ?? trimmed
            }
        }
        try replace(file, with: edited ?? SettingsParser.render(updated), loader: loader, describing: "\(key)=\(value)")
    }

    /// Removes `key` (and the mappings it leaves empty) from the file.
    @discardableResult
    public static func unset(_ key: String, in file: String, loader: SettingsLoader) throws -> Outcome {
        let path = try keyPath(key)
        try checkKnown(path, value: nil)
        guard let current = try SettingsLoader.readFile(file), current.node(at: path) != nil else { return .unchanged }
        let updated = current.removing(path[...])
        let text = FileManager.default.contents(atPath: file).flatMap { String(data: $0, encoding: .utf8) } ?? ""
        let edited = edit(text, expecting: updated) { $0.remove(path) }
        try replace(file, with: edited ?? SettingsParser.render(updated), loader: loader, describing: "unset \(key)")
        return .changed
    }

    private static func keyPath(_ key: String) throws -> [String] {
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw ScionError(.invalidArgument, "\"\(key)\" is not a settings key (use dotted names like profiles.local.runtime)")
        }
        return path
    }

    /// An unknown key (`profiles.local.runtim`), or one inside the value
    /// given, is refused, naming the keys known there.
    private static func checkKnown(_ path: [String], value: SettingsNode?) throws {
        if let unknown = SettingsSchema.root.unknownPart(of: path) {
            throw ScionError(.invalidSettings, unknown)
        }
        if let value, let schema = SettingsSchema.root.schema(at: path),
           let first = schema.unknownKeys(in: value, path: path.joined(separator: ".")).first {
            throw ScionError(.invalidSettings, first.replacingOccurrences(of: " (ignored)", with: "") + "; not saved")
        }
    }

    /// The edited text, if the in-place edit applies and reads back as `expected`.
    private static func edit(_ text: String, expecting expected: SettingsNode, _ change: (inout SettingsTextEdit) -> Bool) -> String? {
        guard !text.isEmpty, var edit = SettingsTextEdit(text), change(&edit) else { return nil }
        guard let parsed = try? SettingsParser.parse(edit.text, source: "edit"), parsed.sameContent(as: expected) else { return nil }
        return edit.text
    }

    /// Writes `text` if it parses and the layered settings stay valid;
    /// otherwise puts the old file back.
    private static func replace(_ file: String, with text: String, loader: SettingsLoader, describing change: String) throws {
        _ = try SettingsParser.parse(text, source: file)
        let directory = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backup = FileManager.default.contents(atPath: file)
        // scion writes this for the user: a grove file the user trusted (or
        // that did not exist) stays trusted with its new content.
        let store = TrustStore(globalDirectory: loader.globalDirectory)
        let keepsTrust = file != SettingsLoader.settingsFile(in: loader.globalDirectory)
            && (backup == nil || store.state(of: file, data: backup!) == .trusted)
        try AtomicFile.write(text, to: file)
        if keepsTrust { try store.update(trust: [(file, Data(text.utf8))]) }
        do {
            var quiet = loader
            quiet.announcesSkipped = false
            let settings = try quiet.load()
            if let problem = SettingsValidator.referenceProblems(settings).first {
                throw ScionError(.invalidSettings, problem)
            }
        } catch {
            if let backup {
                try? AtomicFile.write(backup, to: file)
                if keepsTrust { try? store.update(trust: [(file, backup)]) }
            } else {
                try? FileManager.default.removeItem(atPath: file)
                if keepsTrust { try? store.update(trust: [], revoke: [file]) }
            }
            var reason = (error as? ScionError)?.message ?? "\(error)"
            // The file:line of a file that was put back would mislead.
            if reason.hasPrefix(file + ":"), let colon = reason.range(of: ": ") { reason = String(reason[colon.upperBound...]) }
            throw ScionError(
                .invalidSettings, "not saved: \(change) would make the settings invalid: \(reason)", cause: error)
        }
    }

    /// `[a, b]` and `{k: v}` are YAML; anything else is a plain string.
    static func parseValue(_ value: String, origin: SettingsOrigin) throws -> SettingsNode {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            let document = try SettingsParser.parse("value: \(trimmed)", source: origin.source)
            if let node = document["value"] { return node }
        }
        return SettingsNode(.scalar(value), origin: origin)
    }
}

extension SettingsNode {
    /// Without the entry at `path`; mappings left empty go too.
    func removing(_ path: ArraySlice<String>) -> SettingsNode {
        guard let key = path.first, var entries = self.entries,
              let index = entries.firstIndex(where: { $0.key == key }) else { return self }
        if path.count == 1 {
            entries.remove(at: index)
        } else {
            let child = entries[index].node.removing(path.dropFirst())
            if child.entries?.isEmpty == true { entries.remove(at: index) } else { entries[index].node = child }
        }
        return SettingsNode(.mapping(entries), origin: origin, keyOrigin: keyOrigin)
    }
}
