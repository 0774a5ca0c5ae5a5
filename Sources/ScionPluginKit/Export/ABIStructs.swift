import ScionPluginABI

/// Struct growth (scion_plugin.h section 3): the size each crossing struct
/// had in the 1.0 header, and whether a struct a peer sized covers a field
/// added later. A reader accepts any size from the 1.0 size up and never
/// reads beyond it; a writer never writes beyond it.
public enum ABIStructs {
    /// The 1.0 size of scion_host_api: up to and including `log`.
    public static let hostAPI10 = MemoryLayout<scion_host_api>.offset(of: \scion_host_api.log)! + MemoryLayout<UnsafeRawPointer>.size
    /// The 1.0 size of scion_plugin_api: up to and including `call`.
    public static let pluginAPI10 = MemoryLayout<scion_plugin_api>.offset(of: \scion_plugin_api.call)! + MemoryLayout<UnsafeRawPointer>.size
    /// The 1.0 size of scion_stream: up to and including `context`.
    public static let stream10 = MemoryLayout<scion_stream>.offset(of: \scion_stream.context)! + MemoryLayout<UnsafeRawPointer>.size
    /// scion_buffer has not grown.
    public static let buffer10 = MemoryLayout<scion_buffer>.size

    /// Whether a struct of `size` bytes holds the field at `offset` of `width` bytes.
    @inline(__always)
    public static func covers(_ size: UInt32, offset: Int?, width: Int) -> Bool {
        guard let offset else { return false }
        return Int(size) >= offset + width
    }

    static let hostMinOffset = MemoryLayout<scion_host_api>.offset(of: \scion_host_api.abi_version_min)
    static let pluginFlagsOffset = MemoryLayout<scion_plugin_api>.offset(of: \scion_plugin_api.flags)
    static let pluginCreateOffset = MemoryLayout<scion_plugin_api>.offset(of: \scion_plugin_api.create_instance)
    static let pluginDestroyOffset = MemoryLayout<scion_plugin_api>.offset(of: \scion_plugin_api.destroy_instance)
    static let streamCancelOffset = MemoryLayout<scion_stream>.offset(of: \scion_stream.is_cancelled)
    static let pointer = MemoryLayout<UnsafeRawPointer>.size
}

/// ABI operation names, from the header's SCION_OP_* constants.
public enum PluginOperation {
    public static let describe = SCION_OP_DESCRIBE
    public static let capabilities = SCION_OP_CAPABILITIES
    public static let run = SCION_OP_RUN
    public static let stop = SCION_OP_STOP
    public static let delete = SCION_OP_DELETE
    public static let list = SCION_OP_LIST
    public static let status = SCION_OP_STATUS
    public static let logs = SCION_OP_LOGS
    public static let exec = SCION_OP_EXEC
    public static let attachArgv = SCION_OP_ATTACH_ARGV
    public static let imageExists = SCION_OP_IMAGE_EXISTS
    public static let imagePull = SCION_OP_IMAGE_PULL
    public static let sync = SCION_OP_SYNC
    public static let resolveAuth = SCION_OP_RESOLVE_AUTH
    public static let provision = SCION_OP_PROVISION
    public static let normalizeHook = SCION_OP_NORMALIZE_HOOK
    public static let readAgentFile = SCION_OP_READ_AGENT_FILE
    public static let writeAgentFile = SCION_OP_WRITE_AGENT_FILE
}

/// Capability names, from the header's SCION_CAP_* constants.
public enum PluginCapability {
    public static let needsImage = SCION_CAP_NEEDS_IMAGE
    public static let remote = SCION_CAP_REMOTE
    public static let sync = SCION_CAP_SYNC
    public static let isolated = SCION_CAP_ISOLATED
    public static let terminalSession = SCION_CAP_TERMINAL_SESSION
    public static let sharesHostPaths = SCION_CAP_SHARES_HOST_PATHS
}
