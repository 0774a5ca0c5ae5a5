import Foundation
import ScionPluginKit

/// What `plugins list`, `plugins info` and `doctor` say about each plugin
/// found: loaded (or refused, and why), which one a shadowed plugin lost to,
/// and what its `describe` answers.
public struct PluginInventory: Sendable {
    public struct Entry: Sendable, Encodable {
        public var name: String
        public var kind: String
        public var version: String?
        /// The ABI version negotiated, else the manifest's list.
        public var abi: String
        public var path: String
        public var manifest: String
        public var source: String
        /// `ok`, `shadowed`, or `refused: <the sentence>`.
        public var status: String
        public var isolation: String
        public var description: String?
        public var operations: [String]?
        public var capabilities: [String: JSONValue]?
        /// For a shadowed plugin: the manifest of the one that wins.
        public var shadowedBy: String?

        public var loads: Bool { status == "ok" }

        enum CodingKeys: String, CodingKey {
            case name, kind, version, abi, path, manifest, source, status, isolation, description, operations, capabilities
            case shadowedBy = "shadowed_by"
        }
    }

    public let entries: [Entry]
    /// Manifests that could not be read at all, with the reason.
    public let problems: [String]

    /// Why the first plugin of a kind and name wins (the search order).
    public static let searchOrder = "the first found wins: settings plugins.paths, then ~/.scion/plugins, then the install prefix, then the build folder"

    /// Loads each plugin that is not shadowed; with `details`, asks it to describe itself.
    public init(catalog: PluginCatalog, details: Bool, loader: PluginLoader = .shared) {
        var winners: [String: DiscoveredPlugin] = [:]
        entries = catalog.plugins.map { plugin in
            let key = "\(plugin.manifest.kind)/\(plugin.manifest.name)"
            var entry = Entry(
                name: plugin.manifest.name, kind: plugin.manifest.kind, version: nil,
                abi: plugin.manifest.abiVersions.map(String.init).joined(separator: ","), path: plugin.libraryPath,
                manifest: plugin.manifestPath, source: plugin.source, status: "ok", isolation: plugin.isolation.mode.rawValue,
                description: plugin.manifest.description)
            if let winner = winners[key] {
                entry.status = "shadowed"
                entry.shadowedBy = winner.manifestPath
                return entry
            }
            winners[key] = plugin
            do {
                let connection = try loader.load(plugin)
                entry.abi = String(connection.abiVersion)
                if details { Self.describe(connection, into: &entry) }
            } catch {
                entry.status = "refused: \(error)"
            }
            return entry
        }
        problems = catalog.problems
    }

    static func describe(_ connection: PluginConnection, into entry: inout Entry) {
        if let answer = try? connection.call(PluginOperation.describe, PayloadCoder.encode(Empty())),
           let value = try? JSONDecoder().decode(JSONValue.self, from: answer) {
            let description = entry.kind == "harness" ? value["plugin"] : value
            entry.version = description?["version"]?.stringValue
            if let text = description?["description"]?.stringValue { entry.description = text }
            if case .array(let names)? = description?["operations"] { entry.operations = names.compactMap(\.stringValue) }
        }
        if entry.kind == "runtime", let answer = try? connection.call(PluginOperation.capabilities, PayloadCoder.encode(Empty())),
           case .object(var capabilities)? = try? JSONDecoder().decode(JSONValue.self, from: answer) {
            capabilities["schema_version"] = nil
            entry.capabilities = capabilities
        }
    }
}

extension PluginCatalog {
    /// `<name or folder>` as `plugins check` and `plugins info` take it: a
    /// folder holding a plugin.json, else the first plugin of that name.
    public func resolve(_ argument: String, workingDirectory: String, isolation: PluginIsolationPolicy) throws -> DiscoveredPlugin {
        let path = argument.hasPrefix("/") ? argument : workingDirectory + "/" + argument
        if argument.contains("/") || argument.hasPrefix("."), FileManager.default.fileExists(atPath: path + "/plugin.json") {
            let folder = PluginCatalog(locations: [SearchLocation(directory: path, source: "folder")], isolation: isolation)
            if let plugin = folder.plugins.first { return plugin }
            throw ScionError(.plugin, folder.problems.first ?? "no plugin in \(path)")
        }
        if let plugin = plugins.first(where: { $0.manifest.name == argument }) { return plugin }
        let known = plugins.map(\.manifest.name)
        throw ScionError(
            .notFound,
            "no plugin named \"\(argument)\" and no folder \(path) with a plugin.json; installed: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
    }
}
