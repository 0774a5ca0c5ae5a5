import Foundation

/// `scion plugins install <folder>`: checks that the folder holds a plugin
/// that loads (manifest, library inside the folder, entry point, ABI), then
/// copies its manifest, library and the manifest's `files` into the user's plugin folder
/// (`~/.scion/plugins/<name>/`), replacing an older copy only when asked.
public struct PluginInstaller: Sendable {
    public let destination: String

    public init(destination: String) {
        self.destination = destination
    }

    /// Installs and returns the installed plugin.
    public func install(
        _ source: String, workingDirectory: String, replace: Bool, isolation: PluginIsolationPolicy, loader: PluginLoader = .shared
    ) throws -> DiscoveredPlugin {
        let folder = source.hasPrefix("/") ? source : workingDirectory + "/" + source
        guard FileManager.default.fileExists(atPath: folder + "/plugin.json") else {
            throw ScionError(.invalidArgument, "\(folder) has no plugin.json; a plugin folder holds its manifest and its library (docs/plugins.md)")
        }
        let plugin = try PluginCatalog(locations: [.init(directory: folder, source: "folder")], isolation: isolation)
            .resolve(folder, workingDirectory: workingDirectory, isolation: isolation)
        guard !plugin.manifest.library.hasPrefix("/") else {
            throw ScionError(.invalidArgument, "plugin manifest \(plugin.manifestPath): library \"\(plugin.manifest.library)\" is absolute; an installed plugin is a folder, so name the library relative to it")
        }
        _ = try loader.load(plugin)
        let manager = FileManager.default
        let target = destination + "/" + plugin.manifest.name
        if manager.fileExists(atPath: target) && !replace {
            throw ScionError(.alreadyExists, "a plugin \(plugin.manifest.name) is already installed at \(target); pass --replace to replace it")
        }
        try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
        // Copied beside the target, then moved in place: never half a plugin.
        let staging = destination + "/.\(plugin.manifest.name).installing-\(getpid())"
        try? manager.removeItem(atPath: staging)
        try manager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let libraryName = plugin.manifest.library
        let resolvedLibrary = realpath(plugin.libraryPath, nil).map { pointer -> String in
            defer { free(pointer) }
            return String(cString: pointer)
        } ?? plugin.libraryPath
        try manager.createDirectory(atPath: staging + "/" + ((libraryName as NSString).deletingLastPathComponent), withIntermediateDirectories: true)
        try manager.copyItem(atPath: resolvedLibrary, toPath: staging + "/" + libraryName)
        do {
            for file in plugin.manifest.files ?? [] {
                let source = folder + "/" + file
                guard manager.fileExists(atPath: source) else {
                    throw ScionError(.invalidArgument, "plugin manifest \(plugin.manifestPath) lists \"\(file)\" in files, but \(source) does not exist; nothing was installed")
                }
                try PluginCatalog.checkInside(source, folder: folder, what: "file \"\(file)\"", manifestPath: plugin.manifestPath)
                try manager.createDirectory(atPath: staging + "/" + ((file as NSString).deletingLastPathComponent), withIntermediateDirectories: true)
                try manager.copyItem(atPath: source, toPath: staging + "/" + file)
            }
        } catch {
            try? manager.removeItem(atPath: staging)
            throw error
        }
        try manager.copyItem(atPath: folder + "/plugin.json", toPath: staging + "/plugin.json")
        if manager.fileExists(atPath: target) { try manager.removeItem(atPath: target) }
        try manager.moveItem(atPath: staging, toPath: target)
        var installed = plugin
        installed.manifestPath = target + "/plugin.json"
        installed.libraryPath = target + "/" + libraryName
        installed.source = "~/.scion/plugins"
        return installed
    }
}
