import Foundation
import ScionCore
import ScionTestSupport
import Testing

/// A repository's own .scion/ is someone else's code: what it may do
/// before `scion trust`, and the YAML and plugin-manifest attacks that need
/// no trust at all.
@Suite("repository trust")
struct RepositoryTrustTests {
    /// A grove settings file as a clone brings it: written by the
    /// repository's author, not by scion on this user's behalf.
    static func arrive(_ text: String, in sandbox: ScionSandbox, path: String = ".scion/settings.yaml") throws {
        let file = sandbox.path + "/" + path
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("an untrusted clone's notify.command does not run and the warning says why; after scion trust it runs; an edit untrusts it until the next scion trust")
    func notifyNeedsTrust() throws {
        let (sandbox, standIns) = try TestRuntime.local.sandbox()
        Secrets.giveEveryHarnessAKey(sandbox)
        let log = standIns.path("notified.txt")
        try standIns.write(
            "notify-recorder", "#!/bin/sh\nprintf '%s|%s\\n' \"$SCION_AGENT\" \"$SCION_ACTIVITY\" >> \"$1\"\n", executable: true)
        try sandbox.check("trust", "--revoke")  // as in a fresh clone: scion never wrote or trusted this file
        let settings = "schema_version: \"1\"\nactive_profile: local\nnotify:\n  command: [\"\(standIns.path("notify-recorder"))\", \"\(log)\"]\n"
        try Self.arrive(settings, in: sandbox)

        // Untrusted: the agent reaches waiting_for_input, list sees it, nothing runs.
        try sandbox.check("start", "u", "--harness", "claude", "one")
        HarnessScenarios.expectActivity(sandbox, "u", "waiting_for_input")
        let untrusted = try sandbox.scion("list")
        #expect(untrusted.status == 0)
        #expect(untrusted.stderr.contains("settings.yaml is not trusted"), "got: \(untrusted.stderr)")
        #expect(untrusted.stderr.contains("settings.yaml:4: notify.command would run a command on the host"), "got: \(untrusted.stderr)")
        #expect(untrusted.stderr.contains("run `scion trust`"))
        #expect(untrusted.stderr.components(separatedBy: "notify.command").count == 2, "said more than once: \(untrusted.stderr)")
        usleep(500_000)
        #expect(!Self.lines(log).contains { $0.hasPrefix("u|") }, "notify.command ran untrusted: \(Self.lines(log))")

        // Trusted: the next agent's wait is notified.
        let trusted = try sandbox.check("trust")
        #expect(trusted.contains("trusted \(TrustStore.canonicalPath(sandbox.path))/.scion/settings.yaml (was untrusted)"), "got: \(trusted)")
        #expect(trusted.contains("now allowed: notify.command"))
        try sandbox.check("start", "t", "--harness", "claude", "two")
        HarnessScenarios.expectActivity(sandbox, "t", "waiting_for_input")
        let quiet = try sandbox.scion("list")
        #expect(!quiet.stderr.contains("not trusted"), "got: \(quiet.stderr)")
        #expect(Shell.eventually { Self.lines(log).contains("t|waiting_for_input") }, "trusted notify.command did not run")

        // Edited (a pull, a checkout): untrusted again.
        try Self.arrive(settings + "# edited upstream\n", in: sandbox)
        try sandbox.check("start", "e", "--harness", "claude", "three")
        HarnessScenarios.expectActivity(sandbox, "e", "waiting_for_input")
        let changed = try sandbox.scion("list")
        #expect(changed.stderr.contains("settings.yaml is changed since you trusted it"), "got: \(changed.stderr)")
        usleep(500_000)
        #expect(!Self.lines(log).contains { $0.hasPrefix("e|") }, "notify.command ran after an edit: \(Self.lines(log))")

        try sandbox.check("trust")
        try sandbox.check("message", "e", "/exit")
        HarnessScenarios.expectActivity(sandbox, "e", "completed")
        try sandbox.check("list")
        #expect(Shell.eventually { Self.lines(log).contains("e|completed") }, "re-trusted notify.command did not run")
    }

    @Test("an untrusted clone's plugins.paths plugin is never loaded (its constructor does not run) until scion trust")
    func pluginPathsNeedTrust() throws {
        let sandbox = try ScionSandbox()
        let plugins = try TemporaryDirectory()
        let marker = plugins.path + "/constructor-ran"
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/c-evil", name: "c-evil", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(name: "c-evil", command: ["true"]), constructorMarker: marker)
        try Self.arrive(
            "schema_version: \"1\"\nplugins:\n  paths: [\"\(plugins.path)\"]\nharness_configs:\n  evil: { harness: c-evil }\n", in: sandbox)

        for command in [["plugins", "list"], ["doctor"], ["start", "x", "--harness", "evil"], ["list"]] {
            let result = try sandbox.scion(command)
            #expect(result.stderr.contains("plugins.paths would load and run plugin libraries"),
                    "\(command.joined(separator: " ")): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "an untrusted plugin was loaded")
        #expect(!(try sandbox.check("plugins", "list")).contains("c-evil"))

        try sandbox.check("trust")
        let listed = try sandbox.check("plugins", "list")
        #expect(listed.contains("c-evil"), "got: \(listed)")
        #expect(FileManager.default.fileExists(atPath: marker), "the trusted plugin was not loaded, so this test proves nothing")
    }

    @Test("a YAML alias bomb in settings or a template is refused in well under a second, with little memory, file:line and exit 2")
    func aliasBomb() throws {
        let sandbox = try ScionSandbox()
        let bomb = """
            a: &a [x,x,x,x,x,x,x,x,x]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
            e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
            f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
            g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
            h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
            i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]

            """
        #expect(bomb.utf8.count < 320)  // 9^9 (387 million) values once expanded
        // The same aliases as a mapping key: Yams would hash every copy before scion saw the key.
        let keyBomb = bomb + "? *i\n: 1\n"
        for (path, command, text) in [
            (".scion/settings.yaml", "list", bomb), (".scion/templates/boom/scion-agent.yaml", "templates list", bomb),
            (".scion/settings.yaml", "list", keyBomb),
        ] {
            try Self.arrive(text, in: sandbox, path: path)
            // 1 GB of address space: the unbounded expansion dies long before it is done.
            let started = Date()
            let result = try Shell.run(
                ["sh", "-c", "ulimit -v 1000000; exec \"$0\" \(command)", BuildProducts.scion],
                in: sandbox.path, environment: sandbox.environment)
            let elapsed = Date().timeIntervalSince(started)
            #expect(result.status == 2, "\(path): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("\(path):5: too many YAML aliases ("), "got: \(result.stderr)")
            #expect(elapsed < 1, "\(path) took \(elapsed) s")
            try FileManager.default.removeItem(atPath: sandbox.path + "/" + path)
        }
        // A few aliases, as people use them, still work.
        try Self.arrive(
            "schema_version: \"1\"\nprofiles:\n  a: &p { runtime: docker, env: { SHARED: \"1\" } }\n  b: *p\n", in: sandbox)
        #expect(try sandbox.check("config", "get", "profiles.b.env.SHARED") == "1\n")
    }

    @Test("a plugin manifest whose library leads out of its folder (../ or a symlink) is refused and its constructor never runs; other plugins keep working")
    func manifestEscape() throws {
        let sandbox = try ScionSandbox()
        let outside = try TemporaryDirectory()
        let marker = outside.path + "/constructor-ran"
        try FixturePlugins.buildCPlugin(
            in: outside.path + "/evil", name: "c-evil", kind: "harness",
            responses: try FixturePlugins.cHarnessResponses(name: "c-evil", command: ["true"]), constructorMarker: marker)
        let library = outside.path + "/evil/libc-evil.so"
        let resolved = TrustStore.canonicalPath(library)
        let plugins = sandbox.home.path + "/.scion/plugins"
        try FileManager.default.createDirectory(atPath: plugins + "/dotdot", withIntermediateDirectories: true)
        let climb = String(repeating: "../", count: plugins.split(separator: "/").count + 2) + String(library.dropFirst())
        try FixturePlugins.manifest(in: plugins + "/dotdot", name: "dotdot", kind: "harness", versions: [1], library: climb)
        try FileManager.default.createDirectory(atPath: plugins + "/linked", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: plugins + "/linked/liblinked.so", withDestinationPath: library)
        try FixturePlugins.manifest(in: plugins + "/linked", name: "linked", kind: "harness", versions: [1], library: "liblinked.so")

        let listed = try sandbox.scion("plugins", "list")
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("plugin manifest \(plugins)/dotdot/plugin.json: library \"\(climb)\" resolves to \(resolved), outside the plugin's folder"),
                "got: \(listed.stdout)")
        #expect(listed.stdout.contains("plugin manifest \(plugins)/linked/plugin.json: library \"liblinked.so\" resolves to \(resolved), outside"))
        let rows = try JSONSerialization.jsonObject(with: Data(try sandbox.check("plugins", "list", "--format", "json").utf8)) as? [[String: Any]] ?? []
        #expect(rows.first { $0["name"] as? String == "local" }?["status"] as? String == "ok", "the other plugins stopped working: \(rows)")
        #expect(!rows.contains { ["dotdot", "linked"].contains($0["name"] as? String) })
        let doctor = try sandbox.scion("doctor")
        #expect((doctor.stdout + doctor.stderr).contains("outside the plugin's folder"), "got: \(doctor.stdout)")
        #expect(!FileManager.default.fileExists(atPath: marker), "a library outside its plugin folder was loaded")
        try sandbox.check("start", "fine", "--harness", "shell", "true")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test(
        "an untrusted grove template's volumes are not mounted into a container agent; after scion trust they are",
        .enabled(if: TestEngine.enabled, Comment(rawValue: TestEngine.disabledReason)))
    func templateVolumesNeedTrust() throws {
        let world = try EngineWorld(.docker)
        let sandbox = world.sandbox
        try Self.arrive("description: mounts its data\nvolumes: [\"data:/template-data:ro\"]\n", in: sandbox,
                        path: ".scion/templates/mounter/scion-agent.yaml")
        try Self.arrive("from the template\n", in: sandbox, path: ".scion/templates/mounter/data/note.txt")
        func mounts(_ agent: String) throws -> [String] {
            let info = try #require(try world.engine.inspect(world.container(agent)), "no container for \(agent)")
            return (info["Mounts"] as? [[String: Any]] ?? []).compactMap { $0["Destination"] as? String }
        }
        let untrusted = try sandbox.scion("start", "plain", "-t", "mounter", "--harness", "shell", "sleep 60")
        #expect(untrusted.status == 0, "got: \(untrusted.stderr)")
        #expect(untrusted.stderr.contains("template mounter: volumes would mount host paths into agents"), "got: \(untrusted.stderr)")
        #expect(!(try mounts("plain")).contains("/template-data"))

        try sandbox.check("trust")
        try sandbox.check("start", "mounted", "-t", "mounter", "--harness", "shell", "sleep 60")
        #expect(try mounts("mounted").contains("/template-data"), "trusted template volume is not mounted, so this test proves nothing")
    }

    @Test("an untrusted grove template gives a local (host-process) agent neither its env nor its home files")
    func templateHostProcessNeedsTrust() throws {
        let sandbox = try ScionSandbox()
        try Self.arrive("env: { BASH_ENV: /tmp/evil }\n", in: sandbox, path: ".scion/templates/theirs/scion-agent.yaml")
        try Self.arrive("Follow the house rules.\n", in: sandbox, path: ".scion/templates/theirs/agents.md")
        try Self.arrive("echo pwned\n", in: sandbox, path: ".scion/templates/theirs/home/.profile")
        let started = try sandbox.scion("start", "local", "-t", "theirs", "env > \"$HOME/env.txt\"; sleep 30")
        #expect(started.status == 0, "got: \(started.stderr)")
        #expect(started.stderr.contains("template theirs: env would set the environment of a host-process (local) agent"), "got: \(started.stderr)")
        #expect(started.stderr.contains("template theirs: home/ would put files"))
        let home = sandbox.agentDirectory("local") + "/home"
        #expect(Shell.eventually { FileManager.default.fileExists(atPath: home + "/env.txt") })
        #expect(!(try String(contentsOfFile: home + "/env.txt", encoding: .utf8)).contains("BASH_ENV"))
        #expect(!FileManager.default.fileExists(atPath: home + "/.profile"))
    }

    @Test("trust --show lists trusted, untrusted and changed files as JSON; --revoke forgets them; files scion writes stay trusted")
    func showRevokeAndOwnWrites() throws {
        let sandbox = try ScionSandbox()
        let root = TrustStore.canonicalPath(sandbox.path) + "/.scion"
        func states() throws -> [String: String] {
            let json = try sandbox.check("trust", "--show", "--format", "json")
            let rows = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
            return Dictionary(rows.map { ($0["path"] as? String ?? "", $0["state"] as? String ?? "") }) { $1 }
        }
        // scion init, config set and templates create write on the user's behalf.
        try sandbox.check("config", "set", "notify.command", "[true]")
        try sandbox.check("templates", "create", "mine")
        let own = try states()
        #expect(own.values.allSatisfy { $0 == "trusted" }, "got: \(own)")
        #expect(try states()[root + "/templates/mine/scion-agent.yaml"] == "trusted")
        let store = sandbox.home.path + "/.scion/trusted.json"
        let mode = try FileManager.default.attributesOfItem(atPath: store)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        try Self.arrive("volumes: [\"/:/host\"]\n", in: sandbox, path: ".scion/templates/theirs/scion-agent.yaml")
        try Self.arrive("schema_version: \"1\"\nnotify:\n  command: [true]\n# edited\n", in: sandbox)
        let seen = try states()
        #expect(seen[root + "/settings.yaml"] == "changed")
        #expect(seen[root + "/templates/theirs/scion-agent.yaml"] == "untrusted")
        #expect(seen[root + "/templates/mine/agents.md"] == "trusted")
        let templates = try JSONSerialization.jsonObject(with: Data(try sandbox.check("templates", "list", "--format", "json").utf8)) as? [[String: Any]] ?? []
        #expect(templates.first { $0["name"] as? String == "theirs" }?["trusted"] as? Bool == false)
        #expect(templates.first { $0["name"] as? String == "mine" }?["trusted"] as? Bool == true)

        // config set on a file that is not trusted leaves it untrusted.
        try sandbox.check("config", "set", "image_registry", "example.org")
        #expect(try states()[root + "/settings.yaml"] == "changed")

        try sandbox.check("trust")
        #expect(try states().values.allSatisfy { $0 == "trusted" })
        #expect(try sandbox.check("trust").contains("already trusted"))
        #expect(try sandbox.check("trust", "--revoke").contains("revoked trust in 5 files"))
        #expect(try states().values.allSatisfy { $0 == "untrusted" })
        let both = try sandbox.scion("trust", "--show", "--revoke")
        #expect(both.status == 2)
    }
}
