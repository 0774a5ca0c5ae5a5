// scion-plugin-bench: the in-process cost of the plugin ABI, measured in
// one process with the real loader and clients (Benchmarks/bench.py runs it).
//
//   load      dlopen + negotiation of each built plugin, first load in the process
//   raw       one call round trip: request bytes in, response bytes out (callRaw)
//   typed     the same through RuntimeClient: encode, call, decode, schema_version check
//   harness   HarnessClient.normalizeHook, a typical small harness call
//   cancel    a call with a cancellation token and an event handler attached
//   process   the same raw and typed calls to the plugin in a helper process
//             (plugins.isolation: process), and the helper's start (spawn + entry)
//
// Usage: scion-plugin-bench [ITERATIONS]   (prints one JSON object)
import Foundation
import ScionCore
import ScionPluginKit

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20000
let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path + "/scion"
// The package's Plugins/ manifests with the libraries beside this binary
// (any build folder, also one outside .build: `--scratch-path`).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let catalog = PluginCatalog(locations: [PluginCatalog.SearchLocation(
    directory: packageRoot + "/Plugins", source: "build folder",
    libraryDirectory: URL(fileURLWithPath: executable).deletingLastPathComponent().path)])

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

var loads: [String: Double] = [:]
for plugin in catalog.plugins {
    let started = now()
    guard (try? PluginLoader.shared.load(plugin)) != nil else { continue }
    loads[plugin.manifest.name] = Double(now() - started) / 1e6
}

/// Median of 15 batches, in microseconds per call.
func measure(_ body: () throws -> Void) rethrows -> Double {
    let batch = max(1, iterations / 15)
    var samples: [Double] = []
    for _ in 0..<15 {
        let started = now()
        for _ in 0..<batch { try body() }
        samples.append(Double(now() - started) / 1e3 / Double(batch))
    }
    return samples.sorted()[samples.count / 2]
}

guard let local = catalog.find(kind: "runtime", name: "local"), let generic = catalog.find(kind: "harness", name: "generic") else {
    FileHandle.standardError.write(Data("scion-plugin-bench: the local runtime and generic harness are not built next to \(executable)\n".utf8))
    exit(1)
}
let connection = try PluginLoader.shared.load(local)
let runtime = RuntimeClient(connection)
let harness = HarnessClient(try PluginLoader.shared.load(generic))
let empty = Data("{\"schema_version\":1}".utf8)
for _ in 0..<1000 { _ = connection.callRaw("capabilities", empty) }

let raw = measure { _ = connection.callRaw("capabilities", empty) }
let typed = try measure { _ = try runtime.capabilities() }
let hook = HookEvent(event: "Stop", payload: .object(["hook_event_name": .string("Stop")]))
let harnessCall = try measure { _ = try harness.normalizeHook(hook) }
let cancellation = PluginCancellation()
let cancellable = measure { _ = connection.callRaw("capabilities", empty, cancellation: cancellation) { _ in true } }

// The same plugin in a helper process (issue 12), through a loader of its own.
var isolated = local
isolated.isolation = PluginIsolation(mode: .process)
let helperStarted = now()
let helperConnection = try PluginLoader().load(isolated)
let helperStartMs = Double(now() - helperStarted) / 1e6
let helperRuntime = RuntimeClient(helperConnection)
for _ in 0..<200 { _ = helperConnection.callRaw("capabilities", empty) }
let processRaw = measure { _ = helperConnection.callRaw("capabilities", empty) }
let processTyped = try measure { _ = try helperRuntime.capabilities() }

let result: [String: Any] = [
    "iterations": iterations,
    "load_ms": loads,
    "raw_call_us": raw, "typed_call_us": typed, "harness_call_us": harnessCall, "cancellable_call_us": cancellable,
    "process_start_ms": helperStartMs, "process_raw_call_us": processRaw, "process_typed_call_us": processTyped,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
