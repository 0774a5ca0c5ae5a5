import Foundation
import Logging
import ScionPluginABI
import ScionPluginKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Loads plugin libraries with dlopen and negotiates the ABI. A library is
/// loaded at most once per process and never unloaded.
public final class PluginLoader: Sendable {
    public static let shared = PluginLoader()
    public static let abiVersion = UInt32(SCION_PLUGIN_ABI_VERSION)

    private let loaded = Mutex<[String: PluginConnection]>([:])

    public func load(_ plugin: DiscoveredPlugin) throws -> PluginConnection {
        if let connection = loaded.withLock({ $0[plugin.libraryPath] }) { return connection }
        let started = DispatchTime.now().uptimeNanoseconds
        let connection = try Self.open(plugin)
        let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
        Logger(label: "scion.plugins").debug("loaded \(plugin.manifest.kind) plugin \(plugin.manifest.name) in \(micros) µs")
        return loaded.withLock { cache in
            if let existing = cache[plugin.libraryPath] { return existing }
            cache[plugin.libraryPath] = connection
            return connection
        }
    }

    static func open(_ plugin: DiscoveredPlugin) throws -> PluginConnection {
        let path = plugin.libraryPath
        let host = "this scion speaks plugin ABI \(abiVersion)"
        guard plugin.manifest.abiVersions.contains(Int(abiVersion)) else {
            let versions = plugin.manifest.abiVersions.map(String.init).joined(separator: ", ")
            throw ScionError(
                .abiMismatch,
                "plugin \(plugin.manifest.name) (\(plugin.manifestPath)) speaks plugin ABI \(versions.isEmpty ? "none" : versions); \(host)")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw ScionError(.plugin, "plugin \(plugin.manifest.name): library \(path) does not exist (named by \(plugin.manifestPath)); is it built?")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw ScionError(.plugin, "cannot load plugin library \(path): \(reason)")
        }
        guard let symbol = dlsym(handle, SCION_PLUGIN_ENTRY_SYMBOL) else {
            throw ScionError(
                .abiMismatch,
                "plugin library \(path) does not export \(SCION_PLUGIN_ENTRY_SYMBOL): not a scion plugin, or built for another plugin ABI; \(host)")
        }
        let entry = unsafeBitCast(symbol, to: scion_plugin_entry_fn.self)
        var api = scion_plugin_api()
        api.struct_size = UInt32(MemoryLayout<scion_plugin_api>.size)
        let status = withUnsafePointer(to: &HostTable.table) { entry($0, &api) }
        if status == Int32(SCION_ERR_ABI_MISMATCH.rawValue) || api.abi_version != abiVersion {
            throw ScionError(.abiMismatch, "plugin library \(path) speaks plugin ABI \(api.abi_version); \(host)")
        }
        guard status == Int32(SCION_OK.rawValue), let call = api.call else {
            throw ScionError(.plugin, "plugin library \(path) refused to start (status \(status))")
        }
        let name = api.name.map { String(cString: $0) } ?? plugin.manifest.name
        guard name == plugin.manifest.name else {
            throw ScionError(.plugin, "plugin library \(path) calls itself \"\(name)\" but its manifest \(plugin.manifestPath) says \"\(plugin.manifest.name)\"")
        }
        return PluginConnection(plugin: plugin, instance: api.instance, call: call)
    }
}

/// The host functions every plugin receives.
enum HostTable {
    nonisolated(unsafe) static var table: scion_host_api = {
        var table = scion_host_api()
        table.struct_size = UInt32(MemoryLayout<scion_host_api>.size)
        table.abi_version = PluginLoader.abiVersion
        table.context = nil
        table.alloc = { size in malloc(max(size, 1)) }
        table.log = { _, level, message, length in
            guard let message else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            let logger = Logger(label: "scion.plugin")
            switch scion_log_level(rawValue: UInt32(bitPattern: level)) {
            case SCION_LOG_TRACE: logger.trace("\(text)")
            case SCION_LOG_DEBUG: logger.debug("\(text)")
            case SCION_LOG_INFO: logger.info("\(text)")
            case SCION_LOG_WARNING: logger.warning("\(text)")
            default: logger.error("\(text)")
            }
        }
        return table
    }()
}

/// One loaded plugin instance. Calls into it are serialized.
public final class PluginConnection: @unchecked Sendable {
    public let plugin: DiscoveredPlugin
    private let instance: UnsafeMutableRawPointer?
    private let function: scion_call_fn
    private let lock = NSLock()

    init(plugin: DiscoveredPlugin, instance: UnsafeMutableRawPointer?, call: @escaping scion_call_fn) {
        self.plugin = plugin
        self.instance = instance
        self.function = call
    }

    private final class EventBox {
        let handler: (Data) -> Bool
        init(_ handler: @escaping (Data) -> Bool) { self.handler = handler }
    }

    /// Calls `operation` with a JSON request; `onEvent` receives streamed
    /// events and returns false to stop them.
    public func call(_ operation: String, _ request: Data, onEvent: ((Data) -> Bool)? = nil) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        var response = scion_buffer()
        response.struct_size = UInt32(MemoryLayout<scion_buffer>.size)
        let box = onEvent.map(EventBox.init)
        var stream = scion_stream()
        stream.struct_size = UInt32(MemoryLayout<scion_stream>.size)
        if let box {
            stream.context = Unmanaged.passUnretained(box).toOpaque()
            stream.on_event = { context, bytes, length in
                guard let context, let bytes else { return 0 }
                let box = Unmanaged<EventBox>.fromOpaque(context).takeUnretainedValue()
                return box.handler(Data(bytes: bytes, count: length)) ? 0 : 1
            }
        }
        let status = withExtendedLifetime(box) {
            request.withUnsafeBytes { bytes in
                function(instance, operation, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &stream, &response)
            }
        }
        let body = response.data.map { Data(bytes: $0, count: response.length) } ?? Data()
        free(response.data)
        guard status == Int32(SCION_OK.rawValue) else {
            var error = (try? JSONDecoder().decode(PluginError.self, from: body))
                ?? PluginError(.internal, "the \(plugin.manifest.name) plugin failed \(operation) without an error message")
            error.code = PluginError.Code(status: status)
            throw ScionError(error)
        }
        return body
    }

    public func call<Request: Encodable, Response: Decodable>(
        _ operation: String, _ request: Request, as: Response.Type = Response.self,
        onEvent: ((Data) -> Bool)? = nil
    ) throws -> Response {
        let body = try call(operation, PayloadCoder.encode(request), onEvent: onEvent)
        do {
            return try PayloadCoder.decode(body)
        } catch {
            throw ScionError(.plugin, "the \(plugin.manifest.name) plugin answered \(operation) with a malformed payload: \(error)", cause: error)
        }
    }
}
