import Foundation
import ScionPluginKit

/// An agent's log file, read as lines and optionally followed.
struct LogFile {
    let path: String

    func stream(tail: Int?, follow: Bool, sink: EventSink, isAlive: () -> Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            if follow { throw PluginError(.notFound, "no log yet at \(path)") }
            return
        }
        defer { try? handle.close() }
        let existing = handle.readDataToEndOfFile()
        var text = String(decoding: existing, as: UTF8.self)
        if let tail {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let kept = lines.last == "" ? lines.dropLast().suffix(tail) + [""] : lines.suffix(tail)
            text = kept.joined(separator: "\n")
        }
        if !text.isEmpty, !sink.emit(LogChunk(text: text)) { return }
        guard follow else { return }
        while true {
            let more = handle.readDataToEndOfFile()
            if !more.isEmpty {
                guard sink.emit(LogChunk(text: String(decoding: more, as: UTF8.self))) else { return }
            } else if !isAlive() {
                return
            } else if !sink.wait(0.2) {
                return  // the host cancelled the call
            }
        }
    }
}
