/// Just enough JSON for one event line, without Foundation: escaping a
/// string, and copying a document onto one line (insignificant whitespace
/// dropped, long strings cut) while checking that it is well formed.
enum CompactJSON {
    /// `text` as a JSON string literal.
    static func string(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in text.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        return out + [0x22]
    }

    /// Raw bytes as a JSON string literal; invalid UTF-8 is replaced.
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        string(String(decoding: bytes, as: UTF8.self))
    }

    /// The document on one line with every string longer than `stringLimit`
    /// bytes cut (and marked with "…"), or nil when it is not valid JSON.
    static func compact(_ input: [UInt8], stringLimit: Int) -> [UInt8]? {
        var copier = Copier(input: input, limit: stringLimit)
        copier.skipWhitespace()
        guard copier.value(depth: 0) else { return nil }
        copier.skipWhitespace()
        guard copier.index == input.count else { return nil }
        // The copy holds only bytes of valid strings and JSON punctuation.
        return Array(String(decoding: copier.output, as: UTF8.self).utf8)
    }

    private struct Copier {
        let input: [UInt8]
        let limit: Int
        var index = 0
        var output: [UInt8] = []

        init(input: [UInt8], limit: Int) {
            self.input = input
            self.limit = limit
            output.reserveCapacity(min(input.count, 16384))
        }

        var current: UInt8? { index < input.count ? input[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func value(depth: Int) -> Bool {
            guard depth < 64, let byte = current else { return false }
            switch byte {
            case 0x7B: return container(close: 0x7D, depth: depth, keyed: true)
            case 0x5B: return container(close: 0x5D, depth: depth, keyed: false)
            case 0x22: return string()
            case 0x74: return literal("true")
            case 0x66: return literal("false")
            case 0x6E: return literal("null")
            default: return number()
            }
        }

        mutating func container(close: UInt8, depth: Int, keyed: Bool) -> Bool {
            output.append(input[index])
            index += 1
            skipWhitespace()
            if current == close {
                output.append(close)
                index += 1
                return true
            }
            while true {
                if keyed {
                    guard current == 0x22, string() else { return false }
                    skipWhitespace()
                    guard current == 0x3A else { return false }
                    output.append(0x3A)
                    index += 1
                    skipWhitespace()
                }
                guard value(depth: depth + 1) else { return false }
                skipWhitespace()
                if current == 0x2C {
                    output.append(0x2C)
                    index += 1
                    skipWhitespace()
                } else if current == close {
                    output.append(close)
                    index += 1
                    return true
                } else {
                    return false
                }
            }
        }

        /// Copies whole units (an escape, a surrogate pair, a UTF-8
        /// sequence) while the string is under the limit, so a cut never
        /// splits a character.
        mutating func string() -> Bool {
            output.append(0x22)
            index += 1
            var kept = 0
            var cut = false
            while let byte = current {
                if byte == 0x22 {
                    if cut { output += [0xE2, 0x80, 0xA6] }
                    output.append(0x22)
                    index += 1
                    return true
                }
                guard byte >= 0x20 else { return false }
                let start = index
                if byte == 0x5C {
                    guard escape() else { return false }
                    // A high surrogate and its low half stay together.
                    if input[start + 1] == 0x75, isHighSurrogate(start + 2), current == 0x5C {
                        guard escape() else { return false }
                    }
                } else {
                    index += 1
                    while let next = current, next & 0xC0 == 0x80 { index += 1 }
                }
                if !cut && kept + (index - start) <= limit {
                    output += input[start..<index]
                    kept += index - start
                } else {
                    cut = true
                }
            }
            return false
        }

        mutating func escape() -> Bool {
            guard index + 1 < input.count else { return false }
            let kind = input[index + 1]
            if kind == 0x75 {
                guard index + 6 <= input.count,
                      input[(index + 2)..<(index + 6)].allSatisfy({ Self.isHex($0) })
                else { return false }
                index += 6
                return true
            }
            guard Array("\"\\/bfnrt".utf8).contains(kind) else { return false }
            index += 2
            return true
        }

        func isHighSurrogate(_ hexStart: Int) -> Bool {
            let first = input[hexStart] | 0x20
            let second = input[hexStart + 1] | 0x20
            return first == 0x64 && [0x38, 0x39, 0x61, 0x62].contains(second)
        }

        static func isHex(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        }

        mutating func literal(_ word: String) -> Bool {
            let bytes = Array(word.utf8)
            guard index + bytes.count <= input.count, Array(input[index..<(index + bytes.count)]) == bytes else {
                return false
            }
            output += bytes
            index += bytes.count
            return true
        }

        mutating func number() -> Bool {
            let start = index
            var digits = 0
            while let byte = current, (0x30...0x39).contains(byte) || [0x2D, 0x2B, 0x2E, 0x65, 0x45].contains(byte) {
                if (0x30...0x39).contains(byte) { digits += 1 }
                index += 1
            }
            guard digits > 0 else { return false }
            output += input[start..<index]
            return true
        }
    }
}
