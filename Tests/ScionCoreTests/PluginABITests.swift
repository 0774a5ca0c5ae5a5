import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

@Suite("plugin ABI: loading real plugins and refusing broken ones")
struct PluginABITests {
    func catalog(_ folder: String) -> PluginCatalog {
        PluginCatalog(locations: [PluginCatalog.SearchLocation(directory: folder, source: "test")])
    }

    func buildFolderCatalog() -> PluginCatalog {
        PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion))
    }

    @Test("the built local runtime and generic harness load and answer through the C ABI")
    func realPluginsLoad() throws {
        let catalog = buildFolderCatalog()
        let runtime = RuntimeClient(try PluginLoader.shared.load(try #require(catalog.find(kind: "runtime", name: "local"))))
        let capabilities = try runtime.capabilities()
        #expect(capabilities == RuntimeCapabilities(needsImage: false, isolated: false))
        let harness = HarnessClient(try PluginLoader.shared.load(try #require(catalog.find(kind: "harness", name: "generic"))))
        let provision = try harness.provision(ProvisionRequest(
            agent: "a", task: "echo hi", config: HarnessConfig(name: "shell", harness: "generic", args: ["sh", "-c"]),
            home: "/h", workdir: "/w", resume: false))
        #expect(provision.command == ["sh", "-c", "echo hi"])
        #expect(try harness.describe().interruptKey == "C-c")
    }

    @Test("the HTTP runtimes load without libcurl, which they open at their first transfer", arguments: [
        "ScionRuntimeDocker", "ScionRuntimePodman", "ScionRuntimeKubernetes",
    ])
    func httpRuntimesDoNotLinkLibcurl(library: String) throws {
        let dynamicSection = try Shell.check(["readelf", "-d", BuildProducts.library(library)])
        let needed = dynamicSection.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty, "readelf listed no needed libraries for \(library)")
        #expect(!needed.contains { $0.contains("libcurl") }, "\(library) links libcurl: \(needed)")
    }

    /// Symbols of swift-nio, swift-nio-ssl (BoringSSL) and the WebSocket client, by module name.
    static let webSocketModules = ["NIOCore", "NIOPosix", "NIOSSL", "CNIOBoringSSL", "WSClient"]

    func webSocketSymbols(_ library: String) throws -> [Substring] {
        try Shell.check(["nm", BuildProducts.library(library)]).split(separator: "\n")
            .filter { symbol in Self.webSocketModules.contains { symbol.contains($0) } }
    }

    @Test("the kubernetes plugin loads without swift-nio and BoringSSL, which live in the exec library it opens at its first exec")
    func kubernetesPluginDoesNotLinkNIO() throws {
        let inPlugin = try webSocketSymbols("ScionRuntimeKubernetes")
        #expect(inPlugin.isEmpty, "libScionRuntimeKubernetes.so links swift-nio or BoringSSL again: \(inPlugin.prefix(3))")
        #expect(try !webSocketSymbols("ScionKubeExec").isEmpty, "the exec library holds the WebSocket client, and nm must see it there")
        let dynamicSection = try Shell.check(["readelf", "-d", BuildProducts.library("ScionRuntimeKubernetes")])
        #expect(!dynamicSection.contains("libScionKubeExec"), "the plugin opens its exec library with dlopen; it must not link it")
        let catalog = buildFolderCatalog()
        #expect(!catalog.plugins.contains { $0.libraryPath.hasSuffix("/libScionKubeExec.so") }, "the exec library has no manifest and is no plugin")
        #expect(catalog.find(kind: "runtime", name: "kubernetes") != nil)
    }

    @Test("exec on a kubernetes plugin whose exec library is missing, or is not one, is unavailable and names the file it looked for",
          arguments: [nil, "ScionHarnessGeneric"])
    func kubernetesExecLibraryMissingOrWrong(standIn: String?) throws {
        let folder = try TemporaryDirectory()
        let pluginFolder = folder.file("runtime-kubernetes")
        let manager = FileManager.default
        try manager.createDirectory(atPath: pluginFolder, withIntermediateDirectories: true)
        try manager.copyItem(atPath: BuildProducts.packageRoot + "/Plugins/runtime-kubernetes/plugin.json", toPath: pluginFolder + "/plugin.json")
        // A copy, not a link: the plugin finds its folder from the file the loader mapped.
        try manager.copyItem(atPath: BuildProducts.library("ScionRuntimeKubernetes"), toPath: pluginFolder + "/libScionRuntimeKubernetes.so")
        let execLibrary = pluginFolder + "/libScionKubeExec.so"
        if let standIn { try manager.copyItem(atPath: BuildProducts.library(standIn), toPath: execLibrary) }
        // Nothing listens there: the library is looked for before any connection.
        try folder.write("kubeconfig", """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
            users: [{name: u, user: {token: not-a-real-token}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """)
        let plugin = try #require(catalog(folder.path).find(kind: "runtime", name: "kubernetes"))
        let runtime = RuntimeClient(try PluginLoader.shared.load(plugin))
        let target = AgentTarget(name: "web", handle: "web-pod", runtimeConfig: ["kubeconfig": .string(folder.file("kubeconfig"))])
        let error = try #require(throws: ScionError.self) { try runtime.exec(target, ["true"], input: nil) }
        #expect(error.code == .unavailable)
        #expect(error.message.contains(execLibrary), "\(error.message)")
        #expect(error.message.contains(standIn == nil ? "is missing" : "scion_kube_exec_run_v1"), "\(error.message)")
        #expect(!error.message.contains("not-a-real-token"))
    }

    @Test("a plugin error crosses as a status plus a JSON error with code and message")
    func errorsCrossTheBoundary() throws {
        let catalog = buildFolderCatalog()
        let harness = HarnessClient(try PluginLoader.shared.load(try #require(catalog.find(kind: "harness", name: "generic"))))
        let error = try #require(throws: ScionError.self) {
            try harness.provision(ProvisionRequest(
                agent: "a", task: nil, config: HarnessConfig(name: "empty", harness: "generic"), home: "/h", workdir: "/w", resume: false))
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("nothing to run"))
        let unknown = try #require(throws: ScionError.self) {
            try harness.connection.call("no_such_operation", Data("{}".utf8))
        }
        #expect(unknown.code == .unsupported)
    }

    @Test("a malformed request payload is the caller's error, named with the operation and the JSON field path")
    func malformedPayload() throws {
        let catalog = buildFolderCatalog()
        let connection = try PluginLoader.shared.load(try #require(catalog.find(kind: "harness", name: "generic")))
        let error = try #require(throws: ScionError.self) {
            try connection.call("provision", Data(#"{"agent": 3}"#.utf8))
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "malformed provision request: agent: expected a string, found a number")
    }

    @Test("a plugin written in plain C loads and answers")
    func cPluginWorks() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/c-echo", name: "c-echo", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(name: "c-echo", command: ["echo", "from C"]))
        let plugin = try #require(catalog(folder.path).find(kind: "harness", name: "c-echo"))
        let harness = HarnessClient(try PluginLoader.shared.load(plugin))
        #expect(try harness.describe().plugin.name == "c-echo")
        let provision = try harness.provision(ProvisionRequest(
            agent: "a", task: nil, config: HarnessConfig(name: "c", harness: "c-echo"), home: "/h", workdir: "/w", resume: false))
        #expect(provision.command == ["echo", "from C"])
        #expect(provision.env == ["FROM_C_PLUGIN": "yes"])
    }

    @Test("a plugin that negotiates another ABI version is refused with the file and both versions")
    func wrongNegotiatedVersion() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(in: folder.path + "/v2", name: "v2", kind: "runtime", abiVersion: 2)
        let plugin = try #require(catalog(folder.path).find(kind: "runtime", name: "v2"))
        let error = try #require(throws: ScionError.self) { try PluginLoader.shared.load(plugin) }
        #expect(error.code == .abiMismatch)
        #expect(error.message == "plugin library \(folder.path)/v2/libv2.so speaks plugin ABI 2; this scion speaks plugin ABI 1")
    }

    @Test("a manifest without this host's ABI version is refused before the library is opened")
    func manifestVersionMismatch() throws {
        let folder = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path + "/old", withIntermediateDirectories: true)
        try "not a library".write(toFile: folder.path + "/old/libold.so", atomically: true, encoding: .utf8)
        try FixturePlugins.manifest(in: folder.path + "/old", name: "old", kind: "runtime", versions: [3, 4])
        let plugin = try #require(catalog(folder.path).find(kind: "runtime", name: "old"))
        let error = try #require(throws: ScionError.self) { try PluginLoader.shared.load(plugin) }
        #expect(error.code == .abiMismatch)
        #expect(error.message.contains("\(folder.path)/old/plugin.json) speaks plugin ABI 3, 4; this scion speaks plugin ABI 1"))
    }

    @Test("a file that is not a shared library is refused, naming it")
    func notALibrary() throws {
        let folder = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: folder.path + "/junk", withIntermediateDirectories: true)
        try "#!/bin/sh\necho not a library\n".write(toFile: folder.path + "/junk/libjunk.so", atomically: true, encoding: .utf8)
        try FixturePlugins.manifest(in: folder.path + "/junk", name: "junk", kind: "harness", versions: [1])
        let plugin = try #require(catalog(folder.path).find(kind: "harness", name: "junk"))
        let error = try #require(throws: ScionError.self) { try PluginLoader.shared.load(plugin) }
        #expect(error.code == .plugin)
        #expect(error.message.hasPrefix("cannot load plugin library \(folder.path)/junk/libjunk.so:"))
    }

    @Test("a library without the entry symbol is refused, naming the symbol and the host's version")
    func missingEntrySymbol() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(in: folder.path + "/noentry", name: "noentry", kind: "harness", exportEntry: false)
        let plugin = try #require(catalog(folder.path).find(kind: "harness", name: "noentry"))
        let error = try #require(throws: ScionError.self) { try PluginLoader.shared.load(plugin) }
        #expect(error.code == .abiMismatch)
        #expect(error.message.contains("does not export scion_plugin_entry_v1"))
        #expect(error.message.contains("\(folder.path)/noentry/libnoentry.so"))
        #expect(error.message.contains("this scion speaks plugin ABI 1"))
    }

    @Test("the first plugin of a name wins: settings paths before the build folder")
    func searchOrder() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/generic", name: "generic", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(name: "generic", command: ["true"]))
        let catalog = PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [folder.path], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion))
        #expect(catalog.find(kind: "harness", name: "generic")?.source == "settings plugins.paths")
        #expect(catalog.plugins.filter { $0.manifest.name == "generic" }.count == 2)
    }
}
