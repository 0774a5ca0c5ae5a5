// libyaml, the parser Yams is built on, for its event stream. Yams keeps it
// as an internal module (not a product); SwiftPM makes it importable by
// every package that depends on Yams.
import CYaml
import Foundation

/// Counts what aliases add to a YAML document from libyaml's events, before
/// Yams composes (and hashes) anything: Yams shares an aliased node instead
/// of copying it, but hashing an aliased mapping key, and converting the
/// document, walk every copy, so a few hundred bytes of nested aliases
/// would cost billions of steps. Each anchored value's size (in values) is
/// known when it ends; each alias adds that size; past the limit the file
/// is refused with the alias's line.
enum YAMLAliasScan {
    /// Throws when the aliases of `text` add more than `limit` values.
    /// Malformed YAML is left to Yams, which reports it better.
    static func check(_ text: String, source: String, limit: Int) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var open: [(anchor: String?, size: Int)] = []
            var sizes: [String: Int] = [:]
            var added = 0
            func add(_ size: Int) {
                if !open.isEmpty { open[open.count - 1].size += size }
            }
            func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                anchor.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_SCALAR_EVENT:
                    if let anchor = name(event.data.scalar.anchor) { sizes[anchor] = 1 }
                    add(1)
                case YAML_SEQUENCE_START_EVENT:
                    open.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    open.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let closed = open.popLast() else { break }
                    if let anchor = closed.anchor { sizes[anchor] = closed.size }
                    add(closed.size)
                case YAML_ALIAS_EVENT:
                    let size = name(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1
                    added += size
                    if added > limit {
                        throw ScionError(
                            .invalidSettings,
                            "\(source):\(event.start_mark.line + 1): too many YAML aliases (they would add more than \(limit) values to the file); scion refuses such a file: write the values out, or use fewer aliases")
                    }
                    add(size)
                default:
                    break
                }
            }
        }
    }
}
