// hello-swift: the smallest useful harness plugin, in Swift with ScionPluginKit.
//
// The agent runs `sh -c 'echo "hello from <agent>: <task>"; sleep N'`: it
// needs no credentials and has no hooks. Built by this package as the
// dynamic library product ScionExampleHarnessHello (never installed):
//
//     swift build --product ScionExampleHarnessHello
//
// and made usable with a folder holding this plugin.json and the library:
//
//     scion plugins install <folder>
//     scion config set harness_configs.hello.harness hello-swift
//     scion start a1 --harness hello "say hi"
import ScionPluginABI
import ScionPluginKit

struct HelloHarness: HarnessPlugin {
    let description = HarnessDescription(
        plugin: PluginDescription(
            name: "hello-swift", kind: "harness", version: "1.0.0",
            description: "says hello with the task, then waits (an example harness in Swift)"),
        authMethods: [], interruptKey: "C-c", supportsResume: false)

    func resolveAuth(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        ResolvedAuth(method: "none")
    }

    func provision(_ request: ProvisionRequest) throws -> Provision {
        let seconds = request.config.env["HELLO_SECONDS"] ?? "3600"
        // The task reaches the shell as an argument ($1), never inside the script.
        return Provision(
            command: ["sh", "-c", "echo \"hello from $SCION_AGENT_NAME: $1\"; exec sleep \"$2\"", "hello", request.task ?? "", seconds],
            env: ["SCION_AGENT_NAME": request.agent])
    }

    func normalizeHook(_ event: HookEvent) throws -> ActivityUpdate { ActivityUpdate(activity: nil) }
}

@_cdecl("scion_plugin_entry_v1")
public func scionPluginEntry(
    _ host: UnsafePointer<scion_host_api>?, _ plugin: UnsafeMutablePointer<scion_plugin_api>?
) -> Int32 {
    PluginExport.export(harness: HelloHarness(), host: host, into: plugin)
}
