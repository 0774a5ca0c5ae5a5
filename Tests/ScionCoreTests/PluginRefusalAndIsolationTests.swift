import Foundation
import ScionCore
import ScionPluginKit
import ScionTestSupport
import Testing

/// Broken plugins are refused with the plugin's path and a plain reason
/// while the others keep working, and a plugin in a helper process that
/// crashes, hangs or leaks fails one call (issue 12).
@Suite("plugin refusals and crash isolation")
struct PluginRefusalAndIsolationTests {
    func catalog(_ folder: String, isolation: PluginIsolationPolicy = PluginIsolationPolicy()) -> PluginCatalog {
        PluginCatalog(locations: [PluginCatalog.SearchLocation(directory: folder, source: "test")], isolation: isolation)
    }

    func buildMisbehaving(_ folder: String, name: String) throws {
        try FixturePlugins.buildCPlugin(
            in: folder, name: name, kind: "runtime", responses: MisbehavingPlugin.runtimeAnswers(name: name),
            header: .current, prelude: "#include <stdio.h>\n#include <unistd.h>", calls: MisbehavingPlugin.misbehaviour(folder))
    }

    @Test("refusals name the library and a plain reason: NULL name, NULL call, a changed struct_size, the kind the library disagrees on")
    func entryRefusals() throws {
        let plugins = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(in: plugins.path + "/noname", name: "noname", kind: "runtime", entryTail: "  plugin->name = NULL;")
        try FixturePlugins.buildCPlugin(in: plugins.path + "/nocall", name: "nocall", kind: "runtime", entryTail: "  plugin->call = NULL;")
        try FixturePlugins.buildCPlugin(in: plugins.path + "/resized", name: "resized", kind: "runtime", entryTail: "  plugin->struct_size = 8;")
        try FixturePlugins.buildCPlugin(
            in: plugins.path + "/bufsize", name: "bufsize", kind: "runtime", responses: ["list": #"{"schema_version":1,"agents":[]}"#],
            calls: "  response->struct_size = 4;")
        try FixturePlugins.buildCPlugin(in: plugins.path + "/fine", name: "fine", kind: "runtime", responses: ["list": #"{"schema_version":1,"agents":[]}"#])
        let found = catalog(plugins.path)
        func refusal(_ name: String) -> String {
            do {
                _ = try PluginLoader.shared.load(try #require(found.find(kind: "runtime", name: name)))
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("noname") == "plugin library \(plugins.path)/noname/libnoname.so left its name NULL in the entry call; set plugin->name to its manifest's name \"noname\"")
        #expect(refusal("nocall").contains("\(plugins.path)/nocall/libnocall.so left its call function NULL"))
        #expect(refusal("resized").contains("\(plugins.path)/resized/libresized.so changed struct_size of scion_plugin_api"))
        // The others keep working.
        let fine = RuntimeClient(try PluginLoader.shared.load(try #require(found.find(kind: "runtime", name: "fine"))))
        #expect(try fine.list(labels: [:]).isEmpty)
        let resizedBuffer = RuntimeClient(try PluginLoader.shared.load(try #require(found.find(kind: "runtime", name: "bufsize"))))
        let error = try #require(throws: ScionError.self) { try resizedBuffer.list(labels: [:]) }
        #expect(error.message.contains("answered list with the response buffer's struct_size changed from 24 to 4"), "\(error)")
    }

    @Test("two plugins with one name: the first in search order wins and the other is listed as shadowed by it")
    func shadowed() throws {
        let first = try TemporaryDirectory(), second = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(in: first.path + "/twin", name: "twin", kind: "harness")
        try FixturePlugins.buildCPlugin(in: second.path + "/twin", name: "twin", kind: "harness")
        let both = PluginCatalog(locations: [.init(directory: first.path, source: "settings plugins.paths"), .init(directory: second.path, source: "~/.scion/plugins")])
        let entries = PluginInventory(catalog: both, details: false).entries
        #expect(entries.map(\.status) == ["ok", "shadowed"])
        #expect(entries[1].shadowedBy == first.path + "/twin/plugin.json")
        #expect(PluginInventory.searchOrder.hasPrefix("the first found wins: settings plugins.paths"))
    }

    @Test("a plugin in a helper process answers the same calls, and its segfault, abort, hang and leak each fail one call with a sentence")
    func isolation() throws {
        let plugins = try TemporaryDirectory()
        let folder = plugins.path + "/wobbly"
        try buildMisbehaving(folder, name: "wobbly")
        let policy = PluginIsolationPolicy(global: PluginIsolation(mode: .process, timeoutSeconds: 1.5, memoryLimitMB: 64))
        let plugin = try #require(catalog(plugins.path, isolation: policy).find(kind: "runtime", name: "wobbly"))
        let loader = PluginLoader()
        let connection = try loader.load(plugin)
        #expect(connection.isolation == .process)
        let client = RuntimeClient(connection)
        #expect(try client.list(labels: [:]).isEmpty)
        let target = AgentTarget(name: "x", handle: "h1")
        let cases: [(String, String, String)] = [
            ("list segv", "list", "the wobbly plugin crashed during list (its helper process killed by signal 11, Segmentation fault)"),
            ("status abort", "status", "the wobbly plugin crashed during status (its helper process killed by signal 6, Aborted)"),
            ("stop hang", "stop", "the wobbly plugin did not answer stop within 1.5 s (plugins.timeout_seconds)"),
            ("delete leak", "delete", "the wobbly plugin grew to"),
        ]
        for (behaviour, operation, sentence) in cases {
            try behaviour.write(toFile: folder + "/misbehave", atomically: true, encoding: .utf8)
            let started = Date()
            let error = try #require(throws: ScionError.self) {
                switch operation {
                case "list": _ = try client.list(labels: [:])
                case "status": _ = try client.status(target)
                case "stop": try client.stop(target)
                default: try client.delete(target)
                }
            }
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix(sentence), "\(behaviour): \(error.message)")
            #expect(Date().timeIntervalSince(started) < 10)
            // The next call gets a new helper and works.
            try FileManager.default.removeItem(atPath: folder + "/misbehave")
            #expect(try client.status(target).state == .running, "after \(behaviour)")
        }
    }

    @Test("the in-process path stays the default, and the isolation settings are read and checked")
    func isolationSettings() throws {
        let plugins = try TemporaryDirectory()
        try FixturePlugins.buildCPlugin(in: plugins.path + "/plain", name: "plain", kind: "harness")
        #expect(catalog(plugins.path).plugins.first?.isolation.mode == .inProcess)
        let policy = PluginIsolationPolicy(global: PluginIsolation(), modes: ["plain": .process])
        #expect(catalog(plugins.path, isolation: policy).plugins.first?.isolation.mode == .process)
    }
}
