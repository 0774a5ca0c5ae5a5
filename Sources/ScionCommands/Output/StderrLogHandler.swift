import Foundation
import Logging
import ScionCore

/// Short log lines on stderr, never mixed with stdout output.
struct StderrLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    init(level: Logger.Level) {
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix = event.level >= .error ? "error" : (event.level == .warning ? "warning" : event.level.rawValue)
        FileHandle.standardError.write(Data("\(prefix): \(TerminalText.line("\(event.message)"))\n".utf8))
    }
}
