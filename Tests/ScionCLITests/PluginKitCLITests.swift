import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// The plugin author's path through the real `scion` binary (issue 12):
/// the kit, the C example built as the guide says, install, check, list,
/// info, a whole agent lifecycle, and bad plugins that cannot hurt the host.
@Suite("plugin author's kit: sdk, install, check, list, info, the examples, isolation")
struct PluginKitCLITests {
    static let example = BuildProducts.packageRoot + "/Plugins/examples/runtime-process-c"

    /// Builds the C example into `folder` with the guide's exact command
    /// (docs/plugins.md, "Writing a plugin in C"), the include folder from `scion plugins sdk --include`.
    static func buildCExample(_ sandbox: ScionSandbox, into folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in ["process.c", "plugin.json"] {
            try FileManager.default.copyItem(atPath: example + "/" + file, toPath: folder + "/" + file)
        }
        let include = try sandbox.check("plugins", "sdk", "--include").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(FileManager.default.fileExists(atPath: include + "/scion_plugin.h"))
        let guide = try String(contentsOfFile: BuildProducts.packageRoot + "/docs/plugins.md", encoding: .utf8)
        let command = #"cc -shared -fPIC -o libprocess-c.so process.c -I "$(scion plugins sdk --include)" -ljansson"#
        #expect(guide.contains(command), "docs/plugins.md no longer shows the command the test runs")
        try Shell.check(["cc", "-shared", "-fPIC", "-o", "libprocess-c.so", "process.c", "-I", include, "-ljansson"], in: folder)
    }

    @Test("the C example runtime is built as the guide says, installed, passes plugins check, and runs an agent's whole lifecycle")
    func cExampleLifecycle() throws {
        let sandbox = try ScionSandbox()
        let source = try TemporaryDirectory()
        try Self.buildCExample(sandbox, into: source.path + "/process-c")
        let check = try sandbox.scion("plugins", "check", source.path + "/process-c")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains(" passed, 0 failed"))
        let installed = try sandbox.check("plugins", "install", source.path + "/process-c")
        let library = sandbox.home.path + "/.scion/plugins/process-c/libprocess-c.so"
        #expect(installed.contains("installed runtime plugin process-c at \(library)"))
        #expect(try sandbox.scion("plugins", "install", source.path + "/process-c").status == 4)

        let rows = try #require(try JSONSerialization.jsonObject(with: Data(sandbox.check("plugins", "list", "--format", "json").utf8)) as? [[String: Any]])
        let row = try #require(rows.first { $0["name"] as? String == "process-c" })
        #expect(row["kind"] as? String == "runtime")
        #expect(row["version"] as? String == "1.0.0")
        #expect(row["abi"] as? String == "1")
        #expect(row["path"] as? String == library)
        #expect(row["status"] as? String == "ok")
        #expect(row["isolation"] as? String == "in_process")
        let info = try sandbox.check("plugins", "info", "process-c")
        #expect(info.contains("operations    describe, capabilities, run, stop, delete, list, status, logs, exec"), "\(info)")
        #expect(info.contains("terminal_session=false"))

        try sandbox.check("config", "set", "runtimes.proc.type", "process-c")
        try sandbox.check("config", "set", "profiles.proc.runtime", "proc")
        try sandbox.check("start", "c1", "-p", "proc", "--harness", "shell", "echo hello from C; sleep 60")
        #expect(Shell.eventually(timeout: 10) { ((try? sandbox.scion("logs", "c1"))?.stdout ?? "").contains("hello from C") })
        #expect(try sandbox.agent("c1")?["phase"] as? String == "running")
        let look = try sandbox.scion("look", "c1")
        #expect(look.status == 1 && look.stderr.contains("has no terminal session"))
        try sandbox.check("stop", "c1")
        #expect(try sandbox.agent("c1")?["phase"] as? String == "stopped")
        try sandbox.check("delete", "c1")
        #expect(try sandbox.agents().isEmpty)
        // A harness that exits on its own: the runtime reports stopped with its exit code.
        try sandbox.check("start", "c2", "-p", "proc", "--harness", "shell", "exit 3")
        #expect(Shell.eventually(timeout: 10) { (try? sandbox.agent("c2")?["exit_code"] as? Int) == 3 })
        try sandbox.check("delete", "c2")
    }

    @Test("plugins check passes on every built-in plugin, and fails with the field path on a malformed answer")
    func checkBuiltIns() throws {
        let sandbox = try ScionSandbox()
        var checks = ["local", "generic", "claude", "codex", "gemini"].map { ["plugins", "check", $0] }
        if TestEngine.enabled {
            // The engines' runtimes run their fixture agent in the test image, with their settings (no network).
            for engine in TestEngine.allCases {
                try engine.configure(sandbox)
                checks.append(["plugins", "check", engine.rawValue, "--runtime", engine.rawValue, "--image", engine.image])
            }
        }
        for arguments in checks {
            let name = arguments[2]
            let result = try sandbox.scion(arguments)
            #expect(result.status == 0, "\(name): \(result.stdout)\(result.stderr)")
        }
        let plugins = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/sloppy", name: "sloppy", kind: "runtime",
            responses: [
                "describe": #"{"schema_version":1,"name":"sloppy","kind":"harness","version":"1","description":"wrong kind"}"#,
                "capabilities": #"{"schema_version":1,"needs_image":"no"}"#,
                "list": #"{"schema_version":1,"agents":[{"name":"a","handle":"h","state":"paused","labels":{}}]}"#,
                "status": #"{"schema_version":1,"name":"x","handle":"h","state":"missing","labels":{}}"#,
                "stop": #"{"schema_version":1}"#, "delete": #"{"schema_version":1}"#,
            ], header: .current)
        let result = try sandbox.scion("plugins", "check", plugins.path + "/sloppy")
        #expect(result.status == 1)
        #expect(result.stdout.contains(#"kind: the library says "harness", its manifest "runtime""#), "\(result.stdout)")
        #expect(result.stdout.contains("answer: needs_image: expected a boolean, found a string"), "\(result.stdout)")
        #expect(result.stdout.contains(#"answer: agents[0].state: "paused" is not one of "created", "running", "stopped", "missing""#), "\(result.stdout)")
        #expect(result.stdout.contains("a request that is not JSON was accepted"))
    }

    @Test("the Swift harness example loads, passes plugins check and runs an agent")
    func swiftExample() throws {
        let sandbox = try ScionSandbox()
        let folder = try TemporaryDirectory()
        try FileManager.default.copyItem(
            atPath: BuildProducts.packageRoot + "/Plugins/examples/harness-hello-swift/plugin.json", toPath: folder.path + "/plugin.json")
        try FileManager.default.copyItem(atPath: BuildProducts.library("ScionExampleHarnessHello"), toPath: folder.path + "/libScionExampleHarnessHello.so")
        let check = try sandbox.scion("plugins", "check", folder.path)
        #expect(check.status == 0, "\(check.stdout)")
        try sandbox.check("plugins", "install", folder.path)
        try sandbox.check("config", "set", "harness_configs.hello.harness", "hello-swift")
        try sandbox.check("start", "h1", "--harness", "hello", "be kind")
        #expect(Shell.eventually(timeout: 10) { ((try? sandbox.scion("logs", "h1"))?.stdout ?? "").contains("hello from h1: be kind") })
        try sandbox.check("delete", "h1", "--force")
    }

    @Test("scripts/install.sh lays out every plugin with the files its manifest lists, and plugins install copies them: the kubernetes plugin keeps its exec library and attach helper")
    func installCopiesListedFiles() throws {
        let prefix = try TemporaryDirectory()
        try Shell.check(["bash", BuildProducts.packageRoot + "/scripts/install.sh", "--prefix", prefix.path, "--bin", BuildProducts.directory])
        let laidOut = prefix.path + "/lib/scion/plugins/runtime-kubernetes"
        let kubernetesFiles = ["plugin.json", "libScionRuntimeKubernetes.so", "libScionKubeExec.so", "scion-kube-attach"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: laidOut).sorted() == kubernetesFiles.sorted())

        let sandbox = try ScionSandbox()
        try sandbox.check("plugins", "install", laidOut)
        let installed = sandbox.home.path + "/.scion/plugins/kubernetes"
        #expect(try FileManager.default.contentsOfDirectory(atPath: installed).sorted() == kubernetesFiles.sorted())
        #expect(FileManager.default.isExecutableFile(atPath: installed + "/scion-kube-attach"))
        #expect(FileManager.default.contentsEqual(atPath: installed + "/libScionKubeExec.so", andPath: BuildProducts.directory + "/libScionKubeExec.so"))
    }

    @Test("a manifest's files must exist inside the plugin's folder: a missing one, a symlink out and a .. path are refused, and nothing is installed")
    func listedFilesAreChecked() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        let installed = sandbox.home.path + "/.scion/plugins"
        for name in ["missing", "escape", "climb"] {
            try FixturePlugins.buildCPlugin(in: plugins.path + "/" + name, name: name, kind: "runtime")
        }
        try FixturePlugins.manifest(in: plugins.path + "/missing", name: "missing", kind: "runtime", versions: [1], files: ["helper"])
        let missing = try sandbox.scion("plugins", "install", plugins.path + "/missing")
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("lists \"helper\" in files, but \(plugins.path)/missing/helper does not exist; nothing was installed"), "\(missing.stderr)")

        try FixturePlugins.manifest(in: plugins.path + "/escape", name: "escape", kind: "runtime", versions: [1], files: ["helper"])
        try FileManager.default.createSymbolicLink(atPath: plugins.path + "/escape/helper", withDestinationPath: "/etc/passwd")
        let escape = try sandbox.scion("plugins", "install", plugins.path + "/escape")
        #expect(escape.status != 0)
        #expect(escape.stderr.contains("file \"helper\" resolves to /etc/passwd, outside the plugin's folder"), "\(escape.stderr)")

        try FixturePlugins.manifest(in: plugins.path + "/climb", name: "climb", kind: "runtime", versions: [1], files: ["../climb/libclimb.so"])
        let climb = try sandbox.scion("plugins", "install", plugins.path + "/climb")
        #expect(climb.status != 0)
        #expect(climb.stderr.contains("files[0] \"../climb/libclimb.so\" is not a path inside the plugin's folder"), "\(climb.stderr)")

        let left = (try? FileManager.default.contentsOfDirectory(atPath: installed)) ?? []
        #expect(left.isEmpty, "left in ~/.scion/plugins: \(left)")
    }

    @Test("a broken plugin is refused with its path and reason in list and doctor, while the others keep working")
    func refusalsKeepOthersWorking() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: plugins.path + "/notlib", withIntermediateDirectories: true)
        try "not a library".write(toFile: plugins.path + "/notlib/libnotlib.so", atomically: true, encoding: .utf8)
        try FixturePlugins.manifest(in: plugins.path + "/notlib", name: "notlib", kind: "runtime", versions: [1])
        try FixturePlugins.buildCPlugin(in: plugins.path + "/noentry", name: "noentry", kind: "harness", exportEntry: false)
        try FixturePlugins.buildCPlugin(in: plugins.path + "/old", name: "old", kind: "runtime", manifestVersions: [7])
        try FixturePlugins.buildCPlugin(in: plugins.path + "/misnamed", name: "misnamed", kind: "runtime", entryTail: #"  plugin->name = "other";"#)
        try FixturePlugins.buildCPlugin(in: plugins.path + "/escape", name: "escape", kind: "runtime")
        try FixturePlugins.manifest(in: plugins.path + "/escape", name: "escape", kind: "runtime", versions: [1], library: "../noentry/libnoentry.so")
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        let doctor = try sandbox.scion("doctor", "--format", "json")
        let checks = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [[String: Any]])
        func detail(_ name: String) -> String { checks.first { $0["name"] as? String == name }.map { "\($0["result"]!) \($0["detail"]!)" } ?? "absent" }
        #expect(detail("runtime notlib").hasPrefix("failed cannot load plugin library \(plugins.path)/notlib/libnotlib.so"), "\(detail("runtime notlib"))")
        #expect(detail("harness noentry").contains("\(plugins.path)/noentry/libnoentry.so does not export scion_plugin_entry_v1"))
        #expect(detail("runtime old").contains("speaks plugin ABI 7; this scion speaks plugin ABI 1"))
        #expect(detail("runtime misnamed").contains("calls itself \"other\" but its manifest"))
        #expect(checks.contains { ($0["detail"] as? String ?? "").contains("library \"../noentry/libnoentry.so\" resolves to") })
        #expect(detail("runtime local").hasPrefix("ok"))
        try sandbox.check("start", "ok1", "--harness", "shell", "sleep 30")
        try sandbox.check("delete", "ok1", "--force")
    }

    @Test("with plugins.isolation: process a runtime that segfaults or hangs fails one command with a sentence, and delete of its agents still works")
    func isolationThroughTheCLI() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        let folder = plugins.path + "/wobbly"
        try FixturePlugins.buildCPlugin(
            in: folder, name: "wobbly", kind: "runtime",
            responses: MisbehavingPlugin.runtimeAnswers(name: "wobbly"),
            header: .current, prelude: "#include <stdio.h>\n#include <unistd.h>", calls: MisbehavingPlugin.misbehaviour(folder))
        try sandbox.check("config", "set", "plugins.paths", "[\(plugins.path)]")
        try sandbox.check("config", "set", "plugins.overrides.wobbly.isolation", "process")
        try sandbox.check("config", "set", "plugins.timeout_seconds", "2")
        try sandbox.check("config", "set", "runtimes.wob.type", "wobbly")
        try sandbox.check("config", "set", "profiles.wob.runtime", "wob")
        #expect(try sandbox.check("plugins", "list").contains("process"))
        try sandbox.check("start", "w1", "-p", "wob", "--harness", "shell", "sleep 30")
        try "stop segv".write(toFile: folder + "/misbehave", atomically: true, encoding: .utf8)
        let crashed = try sandbox.scion("stop", "w1")
        #expect(crashed.status == 7, "\(crashed.stderr)")
        #expect(crashed.stderr.contains("the wobbly plugin crashed during stop (its helper process killed by signal 11, Segmentation fault)"), "\(crashed.stderr)")
        try "stop hang".write(toFile: folder + "/misbehave", atomically: true, encoding: .utf8)
        let started = Date()
        let hung = try sandbox.scion("stop", "w1")
        #expect(hung.stderr.contains("the wobbly plugin did not answer stop within 2 s"), "\(hung.stderr)")
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(try sandbox.agent("w1") != nil, "the record survives a crashed call")
        try sandbox.check("delete", "w1", "--force")
        #expect(try sandbox.agents().isEmpty)
        let bad = try sandbox.scion("config", "set", "plugins.isolation", "sandboxed")
        #expect(bad.status == 2 && bad.stderr.contains("use in_process (the default) or process"), "\(bad.stderr)")
    }

    /// docs/plugins.md tells plugin authors to depend on the `ScionPluginKit`
    /// product; the Kit is built with an unsafe compiler flag (Package.swift,
    /// directMetadataAccess), which SwiftPM accepts in a version-pinned
    /// dependency only when the manifest's tools version is 6.2 or later.
    @Test("a package that depends on ScionPluginKit by version, as a plugin author's does, resolves and builds")
    func kitBuildsAsVersionedDependency() throws {
        let scratch = try TemporaryDirectory()
        let kit = scratch.file("scion")
        let root = BuildProducts.packageRoot
        let snapshot = try Shell.check(["git", "-C", root, "stash", "create"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try Shell.check(["git", "clone", "-q", "--no-checkout", root, kit])
        try Shell.check(["git", "-C", kit, "checkout", "-q", snapshot.isEmpty ? "HEAD" : snapshot])
        try Shell.check(["git", "-C", kit, "tag", "1.0.0"])
        try scratch.write("author/Package.swift", """
            // swift-tools-version:6.2
            import PackageDescription
            let package = Package(
                name: "author",
                dependencies: [.package(url: "file://\(kit)", from: "1.0.0")],
                targets: [.target(name: "AuthorPlugin", dependencies: [.product(name: "ScionPluginKit", package: "scion")])])

            """)
        try scratch.write("author/Sources/AuthorPlugin/Plugin.swift", """
            import ScionPluginKit
            public let operation = PluginOperation.run

            """)
        let build = try Shell.run(["swift", "build", "--package-path", scratch.file("author")])
        #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
        #expect(!build.stderr.contains("unsafe build flags"))
    }
}
