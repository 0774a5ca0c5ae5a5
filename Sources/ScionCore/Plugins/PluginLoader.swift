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
    /// The range of ABI versions this host speaks (scion_plugin.h section 2).
    public static let abiVersions = UInt32(SCION_PLUGIN_ABI_VERSION_MIN)...UInt32(SCION_PLUGIN_ABI_VERSION)
    public static var abiVersion: UInt32 { abiVersions.upperBound }

    public let versions: ClosedRange<UInt32>
    private let loaded = Mutex<[String: PluginConnection]>([:])
    private let host: HostTable

    /// A loader offering `versions`; tests use another range to prove the
    /// negotiation, the CLI uses `shared`.
    public init(versions: ClosedRange<UInt32> = PluginLoader.abiVersions) {
        self.versions = versions
        self.host = HostTable(versions: versions)
    }

    public func load(_ plugin: DiscoveredPlugin) throws -> PluginConnection {
        if let connection = loaded.withLock({ $0[plugin.libraryPath] }) { return connection }
        let started = DispatchTime.now().uptimeNanoseconds
        let connection = try open(plugin)
        let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
        Logger(label: "scion.plugins").debug("loaded \(plugin.manifest.kind) plugin \(plugin.manifest.name) in \(micros) µs")
        return loaded.withLock { cache in
            if let existing = cache[plugin.libraryPath] { return existing }
            cache[plugin.libraryPath] = connection
            return connection
        }
    }

    var hostSpeaks: String {
        versions.count == 1 ? "this scion speaks plugin ABI \(versions.lowerBound)"
            : "this scion speaks plugin ABI \(versions.lowerBound) to \(versions.upperBound)"
    }

    func open(_ plugin: DiscoveredPlugin) throws -> PluginConnection {
        let path = plugin.libraryPath
        guard plugin.manifest.abiVersions.contains(where: { $0 >= 0 && versions.contains(UInt32($0)) }) else {
            let listed = plugin.manifest.abiVersions.map(String.init).joined(separator: ", ")
            throw ScionError(
                .abiMismatch,
                "plugin \(plugin.manifest.name) (\(plugin.manifestPath)) speaks plugin ABI \(listed.isEmpty ? "none" : listed); \(hostSpeaks)")
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
                "plugin library \(path) does not export \(SCION_PLUGIN_ENTRY_SYMBOL): not a scion plugin, or built for another plugin ABI; \(hostSpeaks)")
        }
        let entry = unsafeBitCast(symbol, to: scion_plugin_entry_fn.self)
        // Zeroed, so the fields a 1.0 plugin does not know read as "absent".
        var api = scion_plugin_api()
        api.struct_size = UInt32(MemoryLayout<scion_plugin_api>.size)
        let status = entry(host.pointer, &api)
        if status == Int32(SCION_ERR_ABI_MISMATCH.rawValue) || !versions.contains(api.abi_version) {
            throw ScionError(.abiMismatch, "plugin library \(path) speaks plugin ABI \(api.abi_version); \(hostSpeaks)")
        }
        guard status == Int32(SCION_OK.rawValue), let call = api.call else {
            throw ScionError(.plugin, "plugin library \(path) refused to start (status \(status))")
        }
        let name = api.name.map { String(cString: $0) } ?? plugin.manifest.name
        guard name == plugin.manifest.name else {
            throw ScionError(.plugin, "plugin library \(path) calls itself \"\(name)\" but its manifest \(plugin.manifestPath) says \"\(plugin.manifest.name)\"")
        }
        return PluginConnection(plugin: plugin, api: api, call: call)
    }
}

/// The host functions every plugin receives: allocated once per loader and
/// never freed, because plugins keep them for the life of the process.
struct HostTable: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<scion_host_api>

    init(versions: ClosedRange<UInt32>) {
        pointer = .allocate(capacity: 1)
        var table = scion_host_api()
        table.struct_size = UInt32(MemoryLayout<scion_host_api>.size)
        table.abi_version = versions.upperBound
        table.abi_version_min = versions.lowerBound
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
        pointer.initialize(to: table)
    }
}
