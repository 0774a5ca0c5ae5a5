import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Synchronization
import Testing

/// ABI 1, revision 1.1: what the header promises, proved with plugins built
/// by `cc` against the frozen 1.0 header (short structs) and today's (long).
@Suite("plugin ABI 1.1: negotiation, struct growth, instances, threads, cancellation, errors")
struct PluginABIRevisionTests {
    func load(_ folder: String, _ name: String, kind: String = "runtime", loader: PluginLoader = .shared) throws -> PluginConnection {
        let catalog = PluginCatalog(locations: [PluginCatalog.SearchLocation(directory: folder, source: "test")])
        return try loader.load(try #require(catalog.find(kind: kind, name: name)))
    }

    static let target = AgentTarget(name: "a", handle: "h")

    /// A C negotiation that chooses the highest version inside the host's range and `low...high`.
    static func rangeNegotiation(_ low: Int, _ high: Int) -> String {
        """
          uint32_t host_low = SCION_STRUCT_HAS(host, scion_host_api, abi_version_min) ? host->abi_version_min : 1;
          uint32_t low = host_low > \(low) ? host_low : \(low);
          uint32_t high = host->abi_version < \(high) ? host->abi_version : \(high);
          if (low > high) { plugin->abi_version = \(high); return SCION_ERR_ABI_MISMATCH; }
          plugin->abi_version = high;
        """
    }

    // MARK: negotiation

    @Test("the host offers a range and the plugin chooses the highest version both speak")
    func rangeNegotiation() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/ranged", name: "ranged", kind: "runtime", manifestVersions: [1, 2], header: .current,
            negotiation: Self.rangeNegotiation(1, 2))
        #expect(try load(folder.path, "ranged", loader: PluginLoader(versions: 1...3)).abiVersion == 2)
        #expect(try load(folder.path, "ranged", loader: PluginLoader(versions: 1...1)).abiVersion == 1)
        #expect(try load(folder.path, "ranged").abiVersion == 1)
        // A Kit plugin speaks 1 and chooses it inside a wider range.
        let generic = try #require(PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion)).find(kind: "harness", name: "generic"))
        #expect(try PluginLoader(versions: 1...3).load(generic).abiVersion == 1)
    }

    @Test("ranges that do not meet are refused with the library file, the plugin's version and the host's range")
    func rangeRefusal() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/future", name: "future", kind: "runtime", manifestVersions: [1, 2, 3], header: .current,
            negotiation: Self.rangeNegotiation(2, 3))
        let library = folder.path + "/future/libfuture.so"
        let old = try #require(throws: ScionError.self) { try load(folder.path, "future", loader: PluginLoader(versions: 1...1)) }
        #expect(old.code == .abiMismatch)
        #expect(old.message == "plugin library \(library) speaks plugin ABI 3; this scion speaks plugin ABI 1")
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/past", name: "past", kind: "runtime", manifestVersions: [1, 2, 3], header: .current,
            negotiation: Self.rangeNegotiation(1, 2))
        let newer = try #require(throws: ScionError.self) { try load(folder.path, "past", loader: PluginLoader(versions: 3...4)) }
        #expect(newer.message == "plugin library \(folder.path)/past/libpast.so speaks plugin ABI 2; this scion speaks plugin ABI 3 to 4")
    }

    // MARK: struct growth

    @Test("a plugin built against the frozen 1.0 header loads and works: short structs, no flags, no instances, 1.0 answers")
    func oldPluginWorks() throws {
        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/old", name: "old", kind: "runtime",
            responses: [
                "capabilities": #"{"needs_image":false,"remote":false,"sync":false,"isolated":false}"#,
                "exec": #"{"exit_code":0,"stdout":"said","stderr":""}"#,
                "describe": #"{"schema_version":1,"name":"old","kind":"runtime","version":"1","description":"1.0"}"#,
            ], header: .v1_0)
        let source = try String(contentsOfFile: folder.path + "/old/plugin.c", encoding: .utf8)
        #expect(source.contains("#include \"scion_plugin.h\""))
        let header = try String(contentsOfFile: FixturePlugins.Header.v1_0.folder + "/scion_plugin.h", encoding: .utf8)
        #expect(!header.contains("abi_version_min") && !header.contains("is_cancelled"), "the frozen header is not 1.0")
        let connection = try load(folder.path, "old")
        #expect(connection.abiVersion == 1)
        #expect(!connection.isThreadSafe)
        #expect(!connection.makesInstances)
        let runtime = try RuntimeClient(connection, configuration: ["host": .string("x")])
        #expect(runtime.instance === connection.defaultInstance)
        // terminal_session absent: a 1.0 runtime has the tmux session.
        #expect(try runtime.capabilities().terminalSession)
        #expect(try runtime.describe().operations == nil)
        let result = try runtime.exec(Self.target, ["true"], input: Data("hi".utf8))
        #expect(result.output == Data("said".utf8))
    }

    static func oldHost() throws -> String {
        let folder = NSTemporaryDirectory() + "scion-old-host-\(getpid())"
        let binary = folder + "/old_host"
        if !FileManager.default.fileExists(atPath: binary) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let fixtures = FixturePlugins.Header.v1_0.folder
            try Shell.check(["cc", "-Wall", "-Werror", "-I", fixtures, "-o", binary + ".tmp", fixtures + "/old_host.c", "-ldl"])
            try FileManager.default.moveItem(atPath: binary + ".tmp", toPath: binary)
        }
        return binary
    }

    @Test("a 1.0 host (short structs) loads today's plugins, Swift Kit and C alike, and they write nothing past its struct_size")
    func oldHostLoadsNewPlugins() throws {
        let host = try Self.oldHost()
        let generic = try #require(PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion)).find(kind: "harness", name: "generic"))
        let kit = try Shell.run([host, generic.libraryPath, "describe"])
        #expect(kit.stdout.hasPrefix("status=0 abi=1 canary=intact\n"), "the Kit refused or overran a 1.0 host: \(kit.stdout) \(kit.stderr)")
        #expect(kit.stdout.contains(#""interrupt_key":"C-c""#))
        let provision = try Shell.run([
            host, generic.libraryPath, "provision",
            #"{"agent":"a","task":"echo hi","config":{"name":"s","harness":"generic","args":["sh","-c"],"env":{}},"home":"/h","workdir":"/w","resume":false}"#,
        ])
        #expect(provision.stdout.contains(#""command":["sh","-c","echo hi"]"#), "got: \(provision.stdout)")

        let folder = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/long", name: "long", kind: "runtime",
            responses: ["capabilities": #"{"schema_version":1,"needs_image":false,"isolated":false}"#], header: .current,
            negotiation: Self.rangeNegotiation(1, 1),
            entryTail: """
              if (SCION_STRUCT_HAS(plugin, scion_plugin_api, flags)) plugin->flags = SCION_PLUGIN_THREAD_SAFE;
              if (SCION_STRUCT_HAS(plugin, scion_plugin_api, destroy_instance)) { plugin->create_instance = NULL; plugin->destroy_instance = NULL; }
            """)
        let c = try Shell.run([host, folder.path + "/long/liblong.so", "capabilities"])
        #expect(c.stdout.hasPrefix("status=0 abi=1 canary=intact\n"), "got: \(c.stdout) \(c.stderr)")
        // And today's host reads the long plugin's flags.
        #expect(try load(folder.path, "long").isThreadSafe)
    }

    // MARK: instances and threads

    @Test("create_instance makes one instance per configuration, calls reach it, and destroy_instance ends each once")
    func instances() throws {
        let folder = try TemporaryDirectory()
        let marker = folder.path + "/destroyed"
        try FixturePlugins.buildCPlugin(
            in: folder.path + "/kube", name: "kube", kind: "runtime", header: .current,
            prelude: """
            #include <stdio.h>
            static int32_t create(void *base, const uint8_t *config, size_t length, void **instance, scion_buffer *error) {
              (void)base; (void)error;
              char *copy = malloc(length + 1);
              memcpy(copy, config, length);
              copy[length] = 0;
              *instance = copy;
              return SCION_OK;
            }
            static void destroy(void *instance) {
              FILE *f = fopen(\(FixturePlugins.cString(marker)), "a");
              if (f) { fprintf(f, "%s\\n", (char *)instance); fclose(f); }
              free(instance);
            }
            """,
            calls: """
              if (strcmp(operation, "config") == 0) return answer(response, instance ? (const char *)instance : "{}", SCION_OK);
            """,
            negotiation: Self.rangeNegotiation(1, 1),
            entryTail: """
              plugin->create_instance = create;
              plugin->destroy_instance = destroy;
            """)
        let connection = try load(folder.path, "kube")
        #expect(connection.makesInstances)
        let one = try connection.instance(configuration: ["context": .string("prod")])
        #expect(try connection.instance(configuration: ["context": .string("prod")]) === one)
        let two = try connection.instance(configuration: ["context": .string("dev")])
        #expect(two !== one)
        #expect(String(decoding: try connection.call("config", Data(), on: one), as: UTF8.self) == #"{"context":"prod"}"#)
        #expect(String(decoding: try connection.call("config", Data()), as: UTF8.self) == "{}")
        let client = try RuntimeClient(connection, configuration: ["context": .string("dev")])
        #expect(client.instance === two)
        #expect(!FileManager.default.fileExists(atPath: marker))
        connection.destroyInstances()
        let destroyed = try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").sorted()
        #expect(destroyed == [#"{"context":"dev"}"#, #"{"context":"prod"}"#])
        connection.destroyInstances()
        #expect(try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test("a Kit plugin makes instances too, and describe lists the operations it supports")
    func kitInstances() throws {
        let generic = try #require(PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion)).find(kind: "runtime", name: "local"))
        let connection = try PluginLoader.shared.load(generic)
        #expect(connection.makesInstances && connection.isThreadSafe)
        let client = try RuntimeClient(connection, configuration: ["state_dir": .string("/tmp/x")])
        #expect(client.instance !== connection.defaultInstance)
        #expect(try client.describe().operations?.contains("logs") == true)
        #expect(try client.describe().operations?.contains("image_pull") == false)
        let harness = try #require(PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion)).find(kind: "harness", name: "generic"))
        #expect(try HarnessClient(PluginLoader.shared.load(harness)).describe().plugin.operations
            == ["describe", "normalize_hook", "provision", "resolve_auth"])
    }

    static func concurrencyPlugin(in folder: String, name: String, threadSafe: Bool) throws {
        try FixturePlugins.buildCPlugin(
            in: folder + "/" + name, name: name, kind: "runtime", header: .current,
            prelude: """
            #include <stdio.h>
            #include <unistd.h>
            static int active = 0, most = 0;
            """,
            calls: """
              if (strcmp(operation, "status") == 0) {
                int now = __atomic_add_fetch(&active, 1, __ATOMIC_SEQ_CST);
                int seen = __atomic_load_n(&most, __ATOMIC_SEQ_CST);
                while (now > seen && !__atomic_compare_exchange_n(&most, &seen, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
                usleep(150000);
                __atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
                char text[160];
                snprintf(text, sizeof text, "{\\"schema_version\\":1,\\"name\\":\\"a\\",\\"handle\\":\\"h\\",\\"state\\":\\"running\\",\\"labels\\":{},\\"detail\\":\\"%d\\"}",
                         __atomic_load_n(&most, __ATOMIC_SEQ_CST));
                return answer(response, text, SCION_OK);
              }
            """,
            negotiation: Self.rangeNegotiation(1, 1),
            entryTail: threadSafe ? "  plugin->flags = SCION_PLUGIN_THREAD_SAFE;" : "")
    }

    func overlap(_ connection: PluginConnection) throws -> (most: Int, seconds: Double) {
        let runtime = RuntimeClient(connection)
        let started = Date()
        let failures = Atomic<Int>(0)
        // Four threads of their own (the pool may have only two on this machine).
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                if (try? runtime.status(Self.target)) == nil { failures.add(1, ordering: .relaxed) }
                group.leave()
            }.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(started)
        #expect(failures.load(ordering: .relaxed) == 0)
        return (Int(try runtime.status(Self.target).detail ?? "") ?? -1, seconds)
    }

    @Test("a plugin that declares itself thread-safe is called from several threads at once; one that does not is serialized")
    func concurrency() throws {
        let folder = try TemporaryDirectory()
        try Self.concurrencyPlugin(in: folder.path, name: "parallel", threadSafe: true)
        try Self.concurrencyPlugin(in: folder.path, name: "serial", threadSafe: false)
        let parallel = try load(folder.path, "parallel")
        #expect(parallel.isThreadSafe)
        let overlapping = try overlap(parallel)
        #expect(overlapping.most >= 2, "calls did not overlap: at most \(overlapping.most) at once")
        #expect(overlapping.seconds < 0.45, "four 150 ms calls took \(overlapping.seconds) s")
        let serial = try load(folder.path, "serial")
        #expect(!serial.isThreadSafe)
        let serialized = try overlap(serial)
        #expect(serialized.most == 1)
        #expect(serialized.seconds >= 0.55)
    }

    // MARK: cancellation

    static func blockingPlugin(in folder: String) throws {
        try FixturePlugins.buildCPlugin(
            in: folder + "/blocker", name: "blocker", kind: "runtime", header: .current,
            prelude: "#include <unistd.h>",
            calls: """
              if (strcmp(operation, "logs") == 0) {
                if (!SCION_STRUCT_HAS(stream, scion_stream, is_cancelled) || !stream->is_cancelled)
                  return answer(response, "{\\"schema_version\\":1,\\"code\\":\\"failed_precondition\\",\\"message\\":\\"this call cannot be cancelled\\"}", SCION_ERR_FAILED_PRECONDITION);
                while (!stream->is_cancelled(stream->context)) usleep(5000);
                return answer(response, "{\\"schema_version\\":1}", SCION_OK);
              }
            """,
            negotiation: Self.rangeNegotiation(1, 1))
    }

    @Test("the host cancels a call that blocks until cancelled, and the plugin sees it without emitting")
    func cancellation() async throws {
        let folder = try TemporaryDirectory()
        try Self.blockingPlugin(in: folder.path)
        let runtime = RuntimeClient(try load(folder.path, "blocker"))
        let cancellation = PluginCancellation()
        let started = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cancellation.cancel() }
        try runtime.logs(LogsRequest(name: "a", handle: "h", follow: true), cancellation: cancellation) { _ in true }
        let seconds = Date().timeIntervalSince(started)
        #expect(seconds >= 0.2 && seconds < 2, "took \(seconds) s")

        // From async code: the call runs on its own thread; cancelling the task cancels it.
        let connection = runtime.connection
        let task = Task { try await connection.callDetached("logs", try PayloadCoder.encode(LogsRequest(name: "a", handle: "h", follow: true))) }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        _ = try await task.value
    }

    // MARK: errors and payloads

    static func errorPlugin(in folder: String) throws {
        try FixturePlugins.buildCPlugin(
            in: folder + "/errs", name: "errs", kind: "runtime",
            responses: Self.errorResponses, header: .v1_0,
            calls: """
              if (strcmp(operation, "status") == 0)
                return answer(response, "{\\"schema_version\\":1,\\"code\\":\\"not_found\\",\\"message\\":\\"no pod a in namespace x\\"}", SCION_ERR_INTERNAL);
              if (strcmp(operation, "stop") == 0)
                return answer(response, "{\\"schema_version\\":1,\\"code\\":\\"quota_exceeded\\",\\"message\\":\\"the cluster is out of quota\\"}", SCION_ERR_UNAVAILABLE);
              if (strcmp(operation, "delete") == 0) return SCION_ERR_INTERNAL;
            """)
    }

    static let errorResponses: [String: String] = [
                "list": #"{"schema_version":1,"agents":[{"name":"a","handle":"1","state":"running","labels":{}},{"name":"b","handle":"2","state":"stopped","labels":{}},{"name":"c","handle":"3","state":3,"labels":{}}]}"#,
                "attach_argv": #"{"argv":"tmux attach","env":{}}"#,
                "image_exists": #"{"schema_version":2,"exists":true}"#,
                "capabilities": #"{"needs_image":"yes"}"#,
                "exec": #"{"exit_code":0,"stdout":"","stderr":"","stdout_base64":"AP8ACg=="}"#,
            ]

    @Test("the plugin's own error code reaches the user over the status; a plugin that sent nothing did not answer")
    func errorCodes() throws {
        let folder = try TemporaryDirectory()
        try Self.errorPlugin(in: folder.path)
        let runtime = RuntimeClient(try load(folder.path, "errs"))
        let notFound = try #require(throws: ScionError.self) { try runtime.status(Self.target) }
        #expect(notFound.code == .notFound)
        #expect(notFound.exitCode == 3)
        #expect(notFound.message == "no pod a in namespace x")
        let own = try #require(throws: ScionError.self) { try runtime.stop(Self.target) }
        #expect(own.code == .unavailable)
        #expect(own.message == "the cluster is out of quota (errs plugin error quota_exceeded)")
        let silent = try #require(throws: ScionError.self) { try runtime.delete(Self.target) }
        #expect(silent.code == .internal)
        #expect(silent.message == "the errs plugin did not answer delete (status 9, and no error message)")
    }

    @Test("a malformed answer says what was wrong and where, as a JSON field path")
    func malformedAnswers() throws {
        let folder = try TemporaryDirectory()
        try Self.errorPlugin(in: folder.path)
        let runtime = RuntimeClient(try load(folder.path, "errs"))
        let list = try #require(throws: ScionError.self) { try runtime.list(labels: [:]) }
        #expect(list.code == .plugin)
        #expect(list.message == "the errs plugin answered list with a malformed payload: agents[2].state: expected a string, found a number")
        let attach = try #require(throws: ScionError.self) { try runtime.attachCommand(Self.target) }
        #expect(attach.message == "the errs plugin answered attach_argv with a malformed payload: argv: expected an array, found a string")
        let capabilities = try #require(throws: ScionError.self) { try runtime.capabilities() }
        #expect(capabilities.message.hasSuffix("needs_image: expected a boolean, found a string"))
        let version = try #require(throws: ScionError.self) { try runtime.imageExists("i", runtimeConfig: nil) }
        #expect(version.message == "the errs plugin answered image_exists with a malformed payload: schema_version: payload schema 2 is not one this side reads (it reads 1 to 1)")
    }

    @Test("an agent state outside the documented ones is named with the allowed values")
    func unknownState() throws {
        let error = try #require(throws: PayloadError.self) {
            try PayloadCoder.decode(Data(#"{"agents":[{"name":"a","handle":"h","state":"dead","labels":{}}]}"#.utf8), as: ListResponse.self)
        }
        #expect(error.description == #"agents[0].state: expected one of "created", "running", "stopped", "missing", found "dead""#)
    }

    @Test("every payload the host writes carries schema_version, and a Kit plugin refuses a newer one")
    func schemaVersions() throws {
        for payload in [
            try PayloadCoder.encode(Empty()), try PayloadCoder.encode(AgentTarget(name: "a", handle: "h")),
            try PayloadCoder.encode(ExecRequest(name: "a", handle: "h", argv: ["x"])),
            try PayloadCoder.encode(LogsRequest(name: "a", handle: "h")),
        ] {
            let object = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
            #expect(object["schema_version"] as? Int == 1, "\(String(decoding: payload, as: UTF8.self))")
        }
        let generic = try #require(PluginCatalog(locations: PluginCatalog.standardLocations(
            settingsPaths: [], globalDirectory: "/nonexistent", executablePath: BuildProducts.scion)).find(kind: "harness", name: "generic"))
        let error = try #require(throws: ScionError.self) {
            try PluginLoader.shared.load(generic).call("normalize_hook", Data(#"{"schema_version":7,"event":"x","payload":{}}"#.utf8))
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "malformed normalize_hook request: schema_version: payload schema 7 is not one this side reads (it reads 1 to 1)")
    }

    @Test("exec input and output cross byte for byte (base64), and as text for 1.0 plugins")
    func binaryExec() throws {
        let bytes = Data([0, 0xFF, 0x0A, 0xC3])
        let request = try JSONSerialization.jsonObject(with: try PayloadCoder.encode(
            ExecRequest(name: "a", handle: "h", argv: ["cat"], input: bytes))) as? [String: Any]
        #expect(request?["stdin_base64"] as? String == bytes.base64EncodedString())
        #expect(request?["stdin"] == nil, "invalid UTF-8 must not be sent as text")
        let text = try JSONSerialization.jsonObject(with: try PayloadCoder.encode(
            ExecRequest(name: "a", handle: "h", argv: ["cat"], input: Data("hé".utf8)))) as? [String: Any]
        #expect(text?["stdin"] as? String == "hé")
        #expect(ExecRequest(name: "a", handle: "h", argv: [], input: bytes).input == bytes)

        let folder = try TemporaryDirectory()
        try Self.errorPlugin(in: folder.path)
        let runtime = RuntimeClient(try load(folder.path, "errs"))
        #expect(try runtime.exec(Self.target, ["cat"], input: bytes).output == Data([0, 0xFF, 0, 0x0A]))
    }
}
