import ScionContainerSupport
import ScionPluginABI
import ScionPluginKit

@_cdecl("scion_plugin_entry_v1")
public func scionPluginEntry(
    _ host: UnsafePointer<scion_host_api>?, _ plugin: UnsafeMutablePointer<scion_plugin_api>?
) -> Int32 {
    PluginExport.export(
        runtime: ContainerRuntime<PodmanEngine>(description: PluginDescription(
            name: "podman", kind: "runtime", version: "0.1.0",
            description: "agents in Podman containers, driven through the podman CLI")),
        host: host, into: plugin)
}
