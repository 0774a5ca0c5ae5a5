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
///
/// Kit plugins are `Sendable`, so they declare themselves thread-safe
/// (SCION_PLUGIN_THREAD_SAFE), and export `create_instance`: an instance
/// per configuration, made by the plugin's `configured(_:)`.
public enum PluginExport {
    /// The range of ABI versions the Kit speaks.
    public static let abiVersions = UInt32(SCION_PLUGIN_ABI_VERSION_MIN)...UInt32(SCION_PLUGIN_ABI_VERSION)
    public static var abiVersion: UInt32 { abiVersions.upperBound }

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

    /// The version both sides speak, the highest; nil when the ranges do not meet.
    public static func negotiate(host: ClosedRange<UInt32>, plugin: ClosedRange<UInt32>) -> UInt32? {
        let low = max(host.lowerBound, plugin.lowerBound), high = min(host.upperBound, plugin.upperBound)
        return low <= high ? high : nil
    }

    static func export(
        _ table: OperationTable, host: UnsafePointer<scion_host_api>?,
        into api: UnsafeMutablePointer<scion_plugin_api>?
    ) -> Int32 {
        // A 1.0 host passes the 1.0 sizes: accepted, and nothing beyond them is read or written.
        guard let host, let api, Int(host.pointee.struct_size) >= ABIStructs.hostAPI10,
              Int(api.pointee.struct_size) >= ABIStructs.pluginAPI10
        else { return Int32(bitPattern: SCION_ERR_INVALID_ARGUMENT.rawValue) }
        let hostSize = host.pointee.struct_size
        let hostMax = host.pointee.abi_version
        let hostMin = ABIStructs.covers(hostSize, offset: ABIStructs.hostMinOffset, width: 4)
            ? host.pointee.abi_version_min : 1
        guard hostMin <= hostMax, let chosen = negotiate(host: hostMin...hostMax, plugin: abiVersions) else {
            api.pointee.abi_version = abiVersions.upperBound
            return Int32(bitPattern: SCION_ERR_ABI_MISMATCH.rawValue)
        }
        api.pointee.abi_version = chosen
        let functions = HostFunctions(host)
        let instance = PluginInstance(table: table, host: functions)
        PluginLog.host.withLock { $0 = functions }
        api.pointee.name = PluginNames.static(table.name)
        api.pointee.instance = Unmanaged.passRetained(instance).toOpaque()
        api.pointee.call = pluginCall
        let size = api.pointee.struct_size
        if ABIStructs.covers(size, offset: ABIStructs.pluginFlagsOffset, width: 4) {
            api.pointee.flags = SCION_PLUGIN_THREAD_SAFE
        }
        if ABIStructs.covers(size, offset: ABIStructs.pluginCreateOffset, width: ABIStructs.pointer) {
            api.pointee.create_instance = createInstance
        }
        if ABIStructs.covers(size, offset: ABIStructs.pluginDestroyOffset, width: ABIStructs.pointer) {
            api.pointee.destroy_instance = destroyInstance
        }
        return Int32(bitPattern: SCION_OK.rawValue)
    }
}

/// The host's functions, kept for the life of the process (the header's
/// lifetime rule): the entry call hands them over once.
struct HostFunctions: @unchecked Sendable {
    let alloc: (@convention(c) (Int) -> UnsafeMutableRawPointer?)?
    let log: (@convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int) -> Void)?
    let context: UnsafeMutableRawPointer?

    init(_ api: UnsafePointer<scion_host_api>) {
        alloc = api.pointee.alloc
        log = api.pointee.log
        context = api.pointee.context
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
        guard let response, Int(response.pointee.struct_size) >= ABIStructs.buffer10 else { return true }
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

    /// Runs `body`, turning any error into a status plus a JSON error.
    func answer(_ response: UnsafeMutablePointer<scion_buffer>?, _ body: () throws -> Data) -> Int32 {
        let result: Data
        var status = SCION_OK
        do {
            result = try body()
        } catch let error as PluginError {
            status = scion_status(rawValue: UInt32(bitPattern: error.code.status))
            result = (try? PayloadCoder.encode(error)) ?? Data()
        } catch {
            status = SCION_ERR_INTERNAL
            result = (try? PayloadCoder.encode(PluginError(.internal, "\(error)"))) ?? Data()
        }
        guard respond(result, into: response) else { return Int32(bitPattern: SCION_ERR_INTERNAL.rawValue) }
        return Int32(bitPattern: status.rawValue)
    }
}

private let pluginCall: scion_call_fn = { instancePointer, operation, request, requestLength, stream, response in
    guard let instancePointer, let operation else { return Int32(bitPattern: SCION_ERR_INVALID_ARGUMENT.rawValue) }
    let instance = Unmanaged<PluginInstance>.fromOpaque(instancePointer).takeUnretainedValue()
    let name = String(cString: operation)
    let body = request.map { Data(bytes: $0, count: requestLength) } ?? Data()
    return instance.answer(response) {
        guard let operation = instance.table.operations[name] else {
            throw PluginError(.unsupported, "the \(instance.table.name) plugin has no operation \"\(name)\"")
        }
        return try operation(body, EventSink(stream))
    }
}

private let createInstance: scion_create_instance_fn = { defaultPointer, configuration, length, out, error in
    guard let defaultPointer, let out else { return Int32(bitPattern: SCION_ERR_INVALID_ARGUMENT.rawValue) }
    let base = Unmanaged<PluginInstance>.fromOpaque(defaultPointer).takeUnretainedValue()
    let body = configuration.map { Data(bytes: $0, count: length) } ?? Data()
    var made: PluginInstance?
    let status = base.answer(error) {
        let config = try PayloadCoder.decodeObject(body, what: "instance configuration")
        made = PluginInstance(table: try base.table.configure(config), host: base.host)
        return Data()
    }
    if let made { out.pointee = Unmanaged.passRetained(made).toOpaque() }
    return status
}

private let destroyInstance: scion_destroy_instance_fn = { pointer in
    guard let pointer else { return }
    let instance = Unmanaged<PluginInstance>.fromOpaque(pointer).takeRetainedValue()
    instance.table.shutdown()
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

/// `plugin->name` is static for the life of the process: one C copy per
/// name, made at the first entry call and kept (not a fresh `strdup` on
/// every entry call, which valgrind reported as a definite leak per start).
enum PluginNames {
    private static let names = Mutex<[String: UnsafeMutablePointer<CChar>]>([:])

    static func `static`(_ name: String) -> UnsafePointer<CChar> {
        names.withLock { known in
            if let pointer = known[name] { return UnsafePointer(pointer) }
            let pointer = strdup(name)!
            known[name] = pointer
            return UnsafePointer(pointer)
        }
    }
}
