import Foundation

/// The package's build folder, where `swift build` put scion and the plugins.
public enum BuildProducts {
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The folder holding the test runner (the same build configuration).
    public static let directory: String = {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = runner.deletingLastPathComponent()
        if folder.lastPathComponent == "MacOS" || folder.path.hasSuffix(".xctest/Contents") {
            folder = folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: folder.path + "/scion") { return folder.path }
        return packageRoot + "/.build/debug"
    }()

    public static var scion: String { directory + "/scion" }

    public static func library(_ name: String) -> String { directory + "/lib\(name).so" }
}
