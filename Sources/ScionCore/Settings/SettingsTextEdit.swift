import Foundation
import Yams

/// Edits one key of a settings file's YAML text in place, so everything
/// else (comments, quoting, order, blank lines) stays as the user wrote it.
/// Each edit returns nil when the text is laid out in a way it does not
/// handle (a flow mapping to insert into, a block scalar to replace...);
/// the caller then re-serializes. The caller also checks that the edited
/// text parses to exactly the intended tree.
struct SettingsTextEdit {
    private var lines: [String]
    private let endsWithNewline: Bool
    private let root: Node

    init?(_ text: String) {
        guard let parsed = try? Yams.compose(yaml: text) else { return nil }
        root = parsed
        endsWithNewline = text.hasSuffix("\n")
        var split = text.components(separatedBy: "\n")
        if endsWithNewline { split.removeLast() }
        lines = split
    }

    var text: String { lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n") }

    /// Sets `path` to `replacement` (one line of YAML: a scalar as written,
    /// or a flow collection). `quoteLike` says how to write a scalar given
    /// the style of the scalar it replaces (nil for a new key).
    mutating func set(_ path: [String], replacement: (Node.Scalar.Style?) -> String) -> Bool {
        guard case .mapping = root else { return false }
        var node = root
        var depth = 0
        while depth < path.count, let mapping = node.mapping, let child = mapping[path[depth]] {
            node = child
            depth += 1
        }
        if depth == path.count {
            let range: (line: Int, start: Int, end: Int)?
            var style: Node.Scalar.Style?
            switch node {
            case .scalar(let scalar):
                range = scalarRange(scalar, mark: node.mark)
                style = scalar.style
            case .mapping, .sequence: range = flowRange(mark: node.mark)
            case .alias: range = nil
            }
            guard let range else { return false }
            let line = Array(lines[range.line])
            lines[range.line] = String(line[..<range.start]) + replacement(style) + String(line[range.end...])
            return true
        }
        // Insert the missing keys under the deepest mapping that exists.
        // (Yams does not report a collection's style: a flow one starts with a bracket.)
        guard let mapping = node.mapping, depth == 0 || (mapping.style != .flow && !startsFlow(node)) else { return false }
        var block: [String] = []
        for (offset, key) in path[depth...].enumerated() {
            let indent = String(repeating: "  ", count: offset)
            block.append(indent + key + ":" + (offset == path.count - depth - 1 ? " " + replacement(nil) : ""))
        }
        if depth == 0 {
            if case .mapping(let entries) = root, entries.count == 0, !lines.allSatisfy(Self.isBlankOrComment) { return false }
            lines += block
            return true
        }
        guard let last = Array(mapping.keys).last, let mark = last.mark, isKeyAtLineStart(mark) else { return false }
        let end = entryEnd(keyLine: mark.line - 1, keyColumn: mark.column - 1)
        let indent = String(repeating: " ", count: mark.column - 1)
        lines.insert(contentsOf: block.map { indent + $0 }, at: end + 1)
        return true
    }

    /// Removes the entry at `path` (and parents it leaves empty).
    mutating func remove(_ path: [String]) -> Bool {
        var node = root
        var parents: [(mapping: Node.Mapping, key: Node)] = []
        for key in path {
            guard let mapping = node.mapping, let child = mapping[key],
                  let keyNode = mapping.keys.first(where: { $0.string == key }) else { return false }
            parents.append((mapping, keyNode))
            node = child
        }
        // The outermost parent that holds nothing but this entry goes too.
        var index = parents.count - 1
        while index > 0, parents[index].mapping.count == 1 { index -= 1 }
        let (mapping, key) = parents[index]
        guard index == 0 || (mapping.style != .flow && !startsFlow(parents[index - 1].mapping[parents[index - 1].key])),
              let mark = key.mark, isKeyAtLineStart(mark) else { return false }
        let first = mark.line - 1
        let end = entryEnd(keyLine: first, keyColumn: mark.column - 1)
        lines.removeSubrange(first...end)
        return true
    }

    private static func isBlankOrComment(_ line: String) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        return trimmed.isEmpty || trimmed.hasPrefix("#")
    }

    private func isKeyAtLineStart(_ mark: Mark) -> Bool {
        let line = mark.line - 1
        guard line < lines.count else { return false }
        return Array(lines[line]).prefix(mark.column - 1).allSatisfy { $0 == " " }
    }

    private func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    /// The last line of the entry whose key starts at (keyLine, keyColumn):
    /// the following lines indented deeper (or blank), less trailing blank
    /// and comment lines, which belong to what follows.
    private func entryEnd(keyLine: Int, keyColumn: Int) -> Int {
        var end = keyLine
        var index = keyLine + 1
        while index < lines.count {
            let line = lines[index]
            defer { index += 1 }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if indentation(line) <= keyColumn { break }
            if !Self.isBlankOrComment(line) { end = index }
        }
        return end
    }

    private func startsFlow(_ node: Node?) -> Bool {
        guard let mark = node?.mark, mark.line - 1 < lines.count else { return false }
        let line = Array(lines[mark.line - 1])
        return mark.column - 1 < line.count && (line[mark.column - 1] == "{" || line[mark.column - 1] == "[")
    }

    /// Where a one-line `{...}` or `[...]` is written: to its closing bracket.
    private func flowRange(mark: Mark?) -> (line: Int, start: Int, end: Int)? {
        guard let mark, mark.line - 1 < lines.count else { return nil }
        let line = Array(lines[mark.line - 1])
        let start = mark.column - 1
        guard start < line.count, line[start] == "{" || line[start] == "[" else { return nil }
        var depth = 0
        var quote: Character?
        var index = start
        while index < line.count {
            let character = line[index]
            if let open = quote {
                if character == "\\" && open == "\"" { index += 2; continue }
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "{" || character == "[" {
                depth += 1
            } else if character == "}" || character == "]" {
                depth -= 1
                if depth == 0 { return (mark.line - 1, start, index + 1) }
            }
            index += 1
        }
        return nil
    }

    /// Where a one-line scalar is written: its line and character range.
    private func scalarRange(_ scalar: Node.Scalar, mark: Mark?) -> (line: Int, start: Int, end: Int)? {
        guard let mark else { return nil }
        let lineIndex = mark.line - 1
        guard lineIndex < lines.count else { return nil }
        let line = Array(lines[lineIndex])
        let start = mark.column - 1
        guard start <= line.count else { return nil }
        switch scalar.style {
        case .plain:
            let text = Array(scalar.string)
            guard !text.isEmpty, start + text.count <= line.count, Array(line[start..<start + text.count]) == text else { return nil }
            return (lineIndex, start, start + text.count)
        case .doubleQuoted:
            guard start < line.count, line[start] == "\"" else { return nil }
            var index = start + 1
            while index < line.count {
                if line[index] == "\\" { index += 2; continue }
                if line[index] == "\"" { return (lineIndex, start, index + 1) }
                index += 1
            }
            return nil
        case .singleQuoted:
            guard start < line.count, line[start] == "'" else { return nil }
            var index = start + 1
            while index < line.count {
                if line[index] == "'" {
                    if index + 1 < line.count, line[index + 1] == "'" { index += 2; continue }
                    return (lineIndex, start, index + 1)
                }
                index += 1
            }
            return nil
        default:
            return nil
        }
    }
}

/// How scion writes a scalar into a settings file.
enum SettingsScalarText {
    /// Plain where YAML reads it back as the same string; double-quoted
    /// otherwise (`"1"`, `"true"`, `"a: b"`), so strings stay strings.
    static func render(_ text: String, like style: Node.Scalar.Style? = nil) -> String {
        switch style {
        case .singleQuoted?: return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .doubleQuoted?: return doubleQuoted(text)
        default: return isPlainSafe(text) ? text : doubleQuoted(text)
        }
    }

    static func isPlainSafe(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains("\n"), !text.contains("\""), !text.contains("'"),
              text.trimmingCharacters(in: .whitespaces) == text,
              let loaded = (try? Yams.load(yaml: "k: " + text)) as? [String: Any]
        else { return false }
        return loaded.count == 1 && (loaded["k"] as? String) == text
    }

    static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for character in text.unicodeScalars {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if character.value < 0x20 || character.value == 0x7F {
                    out += String(format: "\\x%02X", character.value)
                } else {
                    out.unicodeScalars.append(character)
                }
            }
        }
        return out + "\""
    }
}

extension SettingsNode {
    /// Same keys, order and values, whatever the origins.
    func sameContent(as other: SettingsNode) -> Bool {
        switch (value, other.value) {
        case (.null, .null): return true
        case (.scalar(let a), .scalar(let b)): return a == b
        case (.sequence(let a), .sequence(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameContent(as: $1) }
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.node.sameContent(as: $1.node) }
        default: return false
        }
    }
}
