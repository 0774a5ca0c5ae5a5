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
        let key = plugin.isolation.mode == .process ? "process:" + plugin.libraryPath : plugin.libraryPath
        if let connection = loaded.withLock({ $0[key] }) { return connection }
        let started = DispatchTime.now().uptimeNanoseconds
        let connection = try open(plugin)
        let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
        Logger(label: "scion.plugins").debug("loaded \(plugin.manifest.kind) plugin \(plugin.manifest.name) in \(micros) µs")
        return loaded.withLock { cache in
            if let existing = cache[key] { return existing }
            cache[key] = connection
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
        if plugin.isolation.mode == .process { return try openIsolated(plugin) }
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
        try checkEntry(EntryAnswer(
            status: status, abiVersion: api.abi_version, name: api.name.map { String(cString: $0) },
            hasCall: api.call != nil, structSize: api.struct_size), plugin)
        return PluginConnection(plugin: plugin, api: api, call: api.call!)
    }

    /// What an entry call filled in, in scion's process or in a helper's.
    struct EntryAnswer {
        var status: Int32
        var abiVersion: UInt32
        var name: String?
        var hasCall: Bool
        var structSize: UInt32
    }

    /// The refusals of a plugin's entry call, each one sentence naming the library.
    func checkEntry(_ answer: EntryAnswer, _ plugin: DiscoveredPlugin) throws {
        let path = plugin.libraryPath
        if answer.status == Int32(SCION_ERR_ABI_MISMATCH.rawValue) || !versions.contains(answer.abiVersion) {
            throw ScionError(.abiMismatch, "plugin library \(path) speaks plugin ABI \(answer.abiVersion); \(hostSpeaks)")
        }
        guard answer.status == Int32(SCION_OK.rawValue) else {
            throw ScionError(.plugin, "plugin library \(path) refused to start: its entry call returned status \(answer.status)")
        }
        guard answer.structSize == UInt32(MemoryLayout<scion_plugin_api>.size) else {
            throw ScionError(.plugin, "plugin library \(path) changed struct_size of scion_plugin_api from \(MemoryLayout<scion_plugin_api>.size) to \(answer.structSize); struct_size belongs to the side that allocated the struct, a plugin never writes it")
        }
        guard let name = answer.name else {
            throw ScionError(.plugin, "plugin library \(path) left its name NULL in the entry call; set plugin->name to its manifest's name \"\(plugin.manifest.name)\"")
        }
        guard answer.hasCall else {
            throw ScionError(.plugin, "plugin library \(path) left its call function NULL in the entry call, so scion cannot call it; set plugin->call")
        }
        guard name == plugin.manifest.name else {
            throw ScionError(.plugin, "plugin library \(path) calls itself \"\(name)\" but its manifest \(plugin.manifestPath) says \"\(plugin.manifest.name)\"")
        }
    }

    /// The plugin in a helper process (plugins.isolation: process).
    func openIsolated(_ plugin: DiscoveredPlugin) throws -> PluginConnection {
        let helper = PluginHelper(plugin: plugin, versions: versions)
        let hello = try helper.start()
        let path = plugin.libraryPath
        switch hello.status {
        case -1: throw ScionError(.plugin, "cannot load plugin library \(path): \(hello.name ?? "unknown error")")
        case -2:
            throw ScionError(
                .abiMismatch,
                "plugin library \(path) does not export \(SCION_PLUGIN_ENTRY_SYMBOL): not a scion plugin, or built for another plugin ABI; \(hostSpeaks)")
        default: break
        }
        try checkEntry(EntryAnswer(
            status: hello.status, abiVersion: hello.abiVersion, name: hello.name, hasCall: hello.hasCall,
            structSize: hello.structSize), plugin)
        return PluginConnection(plugin: plugin, helper: helper, hello: hello)
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
