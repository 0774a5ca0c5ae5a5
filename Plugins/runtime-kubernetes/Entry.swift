import ScionPluginABI
import ScionPluginKit

@_cdecl("scion_plugin_entry_v1")
public func scionPluginEntry(
    _ host: UnsafePointer<scion_host_api>?, _ plugin: UnsafeMutablePointer<scion_plugin_api>?
) -> Int32 {
    PluginExport.export(runtime: KubernetesRuntime(), host: host, into: plugin)
}
