import Foundation

/// The plugins available to this process, found from their manifests in
/// order: settings `plugins.paths`, `~/.scion/plugins`, the install prefix
/// beside the executable (`../lib/scion/plugins`), and, for a development
/// build, the package's `Plugins/` folder with libraries from the build
/// folder. The first plugin of a kind and name wins.
public struct PluginCatalog: Sendable {
    public struct SearchLocation: Sendable {
        public var directory: String
        public var source: String
        /// Where libraries live when not beside their manifest (a build folder).
        public var libraryDirectory: String?

        public init(directory: String, source: String, libraryDirectory: String? = nil) {
            self.directory = directory
            self.source = source
            self.libraryDirectory = libraryDirectory
        }
    }

    public let plugins: [DiscoveredPlugin]
    /// Manifests that could not be read, with the reason.
    public let problems: [String]

    /// A catalog of plugins already found (`plugins info` of one plugin).
    public init(plugins: [DiscoveredPlugin], problems: [String] = []) {
        self.plugins = plugins
        self.problems = problems
    }

    public init(locations: [SearchLocation], isolation: PluginIsolationPolicy = PluginIsolationPolicy()) {
        var plugins: [DiscoveredPlugin] = []
        var problems: [String] = []
        let manager = FileManager.default
        for location in locations {
            var manifests: [String] = []
            if manager.fileExists(atPath: location.directory + "/plugin.json") {
                manifests = [location.directory + "/plugin.json"]
            } else if let entries = try? manager.contentsOfDirectory(atPath: location.directory) {
                manifests = entries.sorted().map { "\(location.directory)/\($0)/plugin.json" }
                    .filter { manager.fileExists(atPath: $0) }
            }
            for manifestPath in manifests {
                do {
                    let manifest = try PluginManifest.read(manifestPath)
                    let folder = (manifestPath as NSString).deletingLastPathComponent
                    var library = manifest.library.hasPrefix("/") ? manifest.library : folder + "/" + manifest.library
                    if !manager.fileExists(atPath: library), let libraryDirectory = location.libraryDirectory {
                        library = libraryDirectory + "/" + (manifest.library as NSString).lastPathComponent
                    } else {
                        try Self.checkInside(library, folder: folder, what: "library \"\(manifest.library)\"", manifestPath: manifestPath)
                    }
                    plugins.append(DiscoveredPlugin(
                        manifest: manifest, manifestPath: manifestPath, libraryPath: library, source: location.source,
                        isolation: isolation.isolation(for: manifest.name)))
                } catch {
                    problems.append("\(error)")
                }
            }
        }
        self.plugins = plugins
        self.problems = problems
    }

    /// A manifest's library must be inside the plugin's folder once
    /// symlinks are resolved: dlopen runs a library's constructors, so a
    /// `../../evil.so` must never be followed out (not even by `plugins
    /// list` or `doctor`).
    static func checkInside(_ library: String, folder: String, what: String, manifestPath: String) throws {
        func resolved(_ path: String) -> String {
            guard let real = realpath(path, nil) else { return (path as NSString).standardizingPath }
            defer { free(real) }
            return String(cString: real)
        }
        let base = resolved(folder)
        let target = resolved(library)
        guard !target.hasPrefix(base + "/") else { return }
        throw ScionError(
            .plugin,
            "plugin manifest \(manifestPath): \(what) resolves to \(target), outside the plugin's folder \(base); a plugin's library and files must be inside its folder, so this plugin is not used")
    }

    public static func standardLocations(settingsPaths: [String], globalDirectory: String, executablePath: String) -> [SearchLocation] {
        var locations = settingsPaths.map { SearchLocation(directory: $0, source: "settings plugins.paths") }
        locations.append(SearchLocation(directory: globalDirectory + "/plugins", source: "~/.scion/plugins"))
        let executableDirectory = (executablePath as NSString).deletingLastPathComponent
        locations.append(SearchLocation(
            directory: ((executableDirectory as NSString).deletingLastPathComponent as NSString).appendingPathComponent("lib/scion/plugins"),
            source: "install prefix"))
        if let packageRoot = developmentPackageRoot(executableDirectory) {
            locations.append(SearchLocation(directory: packageRoot + "/Plugins", source: "build folder", libraryDirectory: executableDirectory))
        }
        return locations
    }

    /// `<root>/.build/<...>/scion` → `<root>`, when that is this package.
    static func developmentPackageRoot(_ executableDirectory: String) -> String? {
        guard let range = executableDirectory.range(of: "/.build") else { return nil }
        let root = String(executableDirectory[..<range.lowerBound])
        return FileManager.default.fileExists(atPath: root + "/Package.swift") ? root : nil
    }

    /// The first plugin of `kind` named `name`.
    public func find(kind: String, name: String) -> DiscoveredPlugin? {
        plugins.first { $0.manifest.kind == kind && $0.manifest.name == name }
    }

    public func names(kind: String) -> [String] {
        var seen = Set<String>()
        return plugins.filter { $0.manifest.kind == kind }.map(\.manifest.name).filter { seen.insert($0).inserted }
    }

    /// The plugin, or an error that lists the ones that exist.
    public func require(kind: String, name: String, wantedBy: String) throws -> DiscoveredPlugin {
        if let plugin = find(kind: kind, name: name) { return plugin }
        let available = names(kind: kind)
        throw ScionError(
            .plugin,
            "\(wantedBy) needs the \(kind) plugin \"\(name)\", which is not installed; available \(kind)s: \(available.isEmpty ? "none" : available.joined(separator: ", "))")
    }
}
