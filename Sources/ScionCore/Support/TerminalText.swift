import Foundation

/// Text that came from inside an agent (status messages, details, event
/// names, error output of its container or session), made safe for the
/// user's terminal. An agent controls that text; printed raw, an escape
/// sequence could clear the screen, set the clipboard (OSC 52), retitle the
/// window or fake output, and a newline could add a row to a table.
///
/// Every plain-output path that prints agent text goes through here; JSON
/// output is escaped by `TerminalText.escapeJSON` instead.
public enum TerminalText {
    /// The text with every escape sequence (CSI, OSC, DCS, SOS, PM, APC and
    /// two-character ESC sequences, in their 7-bit and 8-bit forms) and every
    /// other control character (C0, DEL, C1) removed. Tabs and line breaks
    /// become single spaces, so the result is always one line (a table cell,
    /// a `watch` line, an error message).
    public static func line(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: clean(text, keepNewlines: false))
        return result.trimmingCharacters(in: .whitespaces)
    }

    /// As `line`, but line breaks are kept (a screen, a multi-line error).
    /// Tabs are kept too; carriage returns are dropped.
    public static func lines(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: clean(text, keepNewlines: true))
        return result
    }

    /// Whether `text` holds nothing `line` would change or drop (apart from
    /// whitespace folding).
    public static func isClean(_ text: String) -> Bool {
        !text.unicodeScalars.contains { isControl($0) }
    }

    /// JSON text (already escaped by JSONEncoder, which writes C0 controls as
    /// \u escapes) with DEL and C1 controls escaped too: JSON allows them raw,
    /// but a terminal may act on them. They can only occur inside strings, so
    /// the result is the same JSON value.
    public static func escapeJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) else { return json }
        var result = ""
        for scalar in json.unicodeScalars {
            if scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                result += "\\u00" + String(scalar.value, radix: 16, uppercase: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// The scalars of `text` with sequences and controls removed; tabs and
    /// newlines become spaces unless `keepNewlines`.
    private static func clean(_ text: String, keepNewlines: Bool) -> [Unicode.Scalar] {
        enum State { case text, escape, csi, string, stringEscape }
        var state = State.text
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch state {
            case .text:
                switch value {
                case 0x1B: state = .escape
                case 0x9B: state = .csi
                case 0x90, 0x98, 0x9D, 0x9E, 0x9F: state = .string  // DCS, SOS, OSC, PM, APC
                case 0x0A, 0x0B, 0x0C:
                    out.append(keepNewlines ? "\n" : " ")
                case 0x09:
                    out.append(keepNewlines ? "\t" : " ")
                default:
                    if !isControl(scalar) { out.append(scalar) }
                }
            case .escape:
                switch value {
                case 0x5B: state = .csi  // [
                case 0x5D, 0x50, 0x58, 0x5E, 0x5F: state = .string  // ] P X ^ _
                case 0x20...0x2F: state = .escape  // intermediate bytes: ESC ( B and the like
                default: state = .text  // the final character of a two-character sequence
                }
            case .csi:
                // Parameters and intermediates (0x20-0x3F) until a final byte.
                if (0x40...0x7E).contains(value) || !(0x20...0x3F).contains(value) {
                    state = .text
                    if value == 0x1B { state = .escape }
                }
            case .string:
                // Until BEL, ST (ESC \ or 0x9C).
                if value == 0x07 || value == 0x9C { state = .text } else if value == 0x1B { state = .stringEscape }
            case .stringEscape:
                state = value == 0x5C ? .text : .string
            }
        }
        return out
    }
}
