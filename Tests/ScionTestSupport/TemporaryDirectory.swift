import Foundation

/// A directory removed when the test is done with it.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ prefix: String = "scion-test") throws {
        let template = FileManager.default.temporaryDirectory.path + "/\(prefix)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let result = mkdtemp(&bytes) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: result)
    }

    public func file(_ relative: String) -> String { path + "/" + relative }

    public func write(_ relative: String, _ content: String) throws {
        let target = file(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: target, atomically: true, encoding: .utf8)
    }

    public func read(_ relative: String) -> String? {
        try? String(contentsOfFile: file(relative), encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
