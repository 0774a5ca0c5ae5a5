import Foundation

/// Where the plugin author's kit is: the header, the payload schemas, the
/// guide and the examples. Installed (scripts/install.sh):
/// `<prefix>/include/scion/scion_plugin.h`, `<prefix>/share/scion/schemas/`,
/// `<prefix>/share/scion/plugins.md`, `<prefix>/share/scion/examples/`;
/// a development build uses the package's own folders.
public struct PluginSDK: Sendable, Encodable {
    public var include: String
    public var schemas: String
    public var guide: String
    public var examples: String

    public static let header = "scion_plugin.h"

    /// The kit beside `executablePath` (`<prefix>/bin/scion`), or the package's for a development build.
    public static func locate(executablePath: String) -> PluginSDK {
        let bin = (executablePath as NSString).deletingLastPathComponent
        if let root = PluginCatalog.developmentPackageRoot(bin) {
            return PluginSDK(
                include: root + "/Sources/ScionPluginABI/include", schemas: root + "/docs/schemas",
                guide: root + "/docs/plugins.md", examples: root + "/Plugins/examples")
        }
        let prefix = (bin as NSString).deletingLastPathComponent
        return PluginSDK(
            include: prefix + "/include/scion", schemas: prefix + "/share/scion/schemas",
            guide: prefix + "/share/scion/plugins.md", examples: prefix + "/share/scion/examples")
    }

    /// The kit, or an error saying what is missing and how to get it.
    public func checked() throws -> PluginSDK {
        for (what, path) in [("plugin header", include + "/" + Self.header), ("payload schemas", schemas + "/operations.json")]
        where !FileManager.default.fileExists(atPath: path) {
            throw ScionError(.plugin, "the \(what) are not installed (no \(path)); reinstall scion with scripts/install.sh, which installs the plugin kit")
        }
        return self
    }
}
