import Foundation

/// `plugin.json`: read before anything is loaded.
public struct PluginManifest: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var abiVersions: [Int]
    public var library: String
    public var description: String?
    /// Other files the plugin opens from its own folder (helper programs,
    /// libraries it loads itself), relative to it: `scion plugins install`
    /// copies them with the library. The host never opens them.
    public var files: [String]?

    enum CodingKeys: String, CodingKey {
        case name, kind, abiVersions = "abi_versions", library, description, files
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
            for (index, file) in (manifest.files ?? []).enumerated() where !isPlainRelativePath(file) {
                throw ScionError(.plugin, "plugin manifest \(path): files[\(index)] \"\(file)\" is not a path inside the plugin's folder (relative, without \"..\")")
            }
            return manifest
        } catch let error as ScionError {
            throw error
        } catch {
            throw ScionError(.plugin, "plugin manifest \(path) is not valid: \(error)", cause: error)
        }
    }
}

/// `a/b.so`, not `/a`, `../a`, `a/../../b` or empty.
func isPlainRelativePath(_ path: String) -> Bool {
    !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0.isEmpty }
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
