import Foundation

/// `plugin.json`: read before anything is loaded.
public struct PluginManifest: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var abiVersions: [Int]
    public var library: String
    public var description: String?

    enum CodingKeys: String, CodingKey {
        case name, kind, abiVersions = "abi_versions", library, description
    }

    static func read(_ path: String) throws -> PluginManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScionError(.plugin, "cannot read plugin manifest \(path)")
        }
        do {
            let manifest = try JSONDecoder().decode(PluginManifest.self, from: data)
            guard ["runtime", "harness"].contains(manifest.kind) else {
                throw ScionError(.plugin, "plugin manifest \(path): kind \"\(manifest.kind)\" is not runtime or harness")
            }
            return manifest
        } catch let error as ScionError {
            throw error
        } catch {
            throw ScionError(.plugin, "plugin manifest \(path) is not valid: \(error)", cause: error)
        }
    }
}

/// A plugin found on disk (its manifest read, its library not yet loaded).
public struct DiscoveredPlugin: Sendable, Equatable {
    public var manifest: PluginManifest
    public var manifestPath: String
    public var libraryPath: String
    /// Which search location it came from, for `scion plugins list`.
    public var source: String
    /// Where it runs: in scion's process or in a helper (settings `plugins.isolation`).
    public var isolation: PluginIsolation = .inProcess
}
