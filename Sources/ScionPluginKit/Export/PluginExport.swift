import Foundation
import ScionPluginABI
import Synchronization

/// Exports a Swift plugin through the C ABI. A plugin's whole entry point:
///
///     @_cdecl("scion_plugin_entry_v1")
///     public func entry(_ host: UnsafePointer<scion_host_api>?,
///                       _ plugin: UnsafeMutablePointer<scion_plugin_api>?) -> Int32 {
///         PluginExport.export(runtime: MyRuntime(), host: host, into: plugin)
///     }
public enum PluginExport {
    public static let abiVersion = UInt32(SCION_PLUGIN_ABI_VERSION)

    public static func export(
        runtime plugin: some RuntimePlugin, host: UnsafePointer<scion_host_api>?,
        into api: UnsafeMutablePointer<scion_plugin_api>?
    ) -> Int32 {
        export(OperationTable(runtime: plugin), host: host, into: api)
    }

    public static func export(
        harness plugin: some HarnessPlugin, host: UnsafePointer<scion_host_api>?,
        into api: UnsafeMutablePointer<scion_plugin_api>?
    ) -> Int32 {
        export(OperationTable(harness: plugin), host: host, into: api)
    }

    static func export(
        _ table: OperationTable, host: UnsafePointer<scion_host_api>?,
        into api: UnsafeMutablePointer<scion_plugin_api>?
    ) -> Int32 {
        guard let host, let api, host.pointee.struct_size >= MemoryLayout<scion_host_api>.size,
              api.pointee.struct_size >= MemoryLayout<scion_plugin_api>.size
        else { return Int32(bitPattern: SCION_ERR_INVALID_ARGUMENT.rawValue) }
        api.pointee.abi_version = abiVersion
        guard host.pointee.abi_version >= abiVersion else {
            return Int32(bitPattern: SCION_ERR_ABI_MISMATCH.rawValue)
        }
        let instance = PluginInstance(table: table, host: HostFunctions(host.pointee))
        PluginLog.host.withLock { $0 = instance.host }
        api.pointee.name = UnsafePointer(strdup(table.name))
        api.pointee.instance = Unmanaged.passRetained(instance).toOpaque()
        api.pointee.call = pluginCall
        return Int32(bitPattern: SCION_OK.rawValue)
    }
}

struct HostFunctions: @unchecked Sendable {
    let alloc: (@convention(c) (Int) -> UnsafeMutableRawPointer?)?
    let log: (@convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int) -> Void)?
    let context: UnsafeMutableRawPointer?

    init(_ api: scion_host_api) {
        alloc = api.alloc
        log = api.log
        context = api.context
    }
}

final class PluginInstance: Sendable {
    let table: OperationTable
    let host: HostFunctions

    init(table: OperationTable, host: HostFunctions) {
        self.table = table
        self.host = host
    }

    func respond(_ data: Data, into response: UnsafeMutablePointer<scion_buffer>?) -> Bool {
        guard let response, response.pointee.struct_size >= MemoryLayout<scion_buffer>.size else { return true }
        guard !data.isEmpty else {
            response.pointee.data = nil
            response.pointee.length = 0
            return true
        }
        guard let memory = host.alloc?(data.count) else { return false }
        data.copyBytes(to: memory.assumingMemoryBound(to: UInt8.self), count: data.count)
        response.pointee.data = memory.assumingMemoryBound(to: UInt8.self)
        response.pointee.length = data.count
        return true
    }
}

private let pluginCall: scion_call_fn = { instancePointer, operation, request, requestLength, stream, response in
    guard let instancePointer, let operation else { return Int32(bitPattern: SCION_ERR_INVALID_ARGUMENT.rawValue) }
    let instance = Unmanaged<PluginInstance>.fromOpaque(instancePointer).takeUnretainedValue()
    let name = String(cString: operation)
    let body = request.map { Data(bytes: $0, count: requestLength) } ?? Data()
    let result: Data
    var status = SCION_OK
    do {
        guard let operation = instance.table.operations[name] else {
            throw PluginError(.unsupported, "the \(instance.table.name) plugin has no operation \"\(name)\"")
        }
        result = try operation(body, EventSink(stream))
    } catch let error as PluginError {
        status = scion_status(rawValue: UInt32(bitPattern: error.code.status))
        result = (try? PayloadCoder.encode(error)) ?? Data()
    } catch {
        status = SCION_ERR_INTERNAL
        result = (try? PayloadCoder.encode(PluginError(.internal, "\(error)"))) ?? Data()
    }
    guard instance.respond(result, into: response) else { return Int32(bitPattern: SCION_ERR_INTERNAL.rawValue) }
    return Int32(bitPattern: status.rawValue)
}

/// Log lines from a plugin go through the host's logger, never to stdout.
public enum PluginLog {
    static let host = Mutex<HostFunctions?>(nil)

    public static func debug(_ message: String) { write(SCION_LOG_DEBUG, message) }
    public static func info(_ message: String) { write(SCION_LOG_INFO, message) }
    public static func warning(_ message: String) { write(SCION_LOG_WARNING, message) }

    static func write(_ level: scion_log_level, _ message: String) {
        guard let functions = host.withLock({ $0 }), let log = functions.log else { return }
        var text = message
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                log(functions.context, Int32(bitPattern: level.rawValue), $0.baseAddress, $0.count)
            }
        }
    }
}
