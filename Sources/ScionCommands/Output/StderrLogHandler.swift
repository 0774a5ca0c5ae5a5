import Foundation
import Logging

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

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        let prefix = level >= .error ? "error" : (level == .warning ? "warning" : level.rawValue)
        FileHandle.standardError.write(Data("\(prefix): \(message)\n".utf8))
    }
}
