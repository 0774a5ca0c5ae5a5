import Foundation
import Logging
import ScionPluginABI
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// A plugin running in `scion-plugin-host` (settings `plugins.isolation:
/// process`): the same calls, over a socket, in a process of its own. A
/// plugin that crashes, hangs past the timeout, or grows past the memory
/// limit fails the one call it was in; the next call starts a new helper.
/// The frames are described in Sources/scion-plugin-host/main.c.
final class PluginHelper: @unchecked Sendable {
    /// What the plugin's entry call filled in, as the helper reports it.
    struct Hello {
        var status: Int32
        var abiVersion: UInt32
        var flags: UInt32
        var structSize: UInt32
        var makesInstances: Bool
        var destroysInstances: Bool
        var hasCall: Bool
        /// The plugin's name; nil when it left it NULL (for status -1, the dlopen error).
        var name: String?
    }

    static let executableName = "scion-plugin-host"

    let plugin: DiscoveredPlugin
    let versions: ClosedRange<UInt32>
    private let lock = NSLock()
    private var pid: pid_t = 0
    private var socket: Int32 = -1
    /// Bytes read from the helper and not yet parsed, from `position`.
    private var buffer: [UInt8] = []
    private var position = 0
    private var chunk = [UInt8](repeating: 0, count: 65536)
    /// Instances made in the running helper, by configuration.
    private var instances: [Data: UInt64] = [:]

    init(plugin: DiscoveredPlugin, versions: ClosedRange<UInt32>) {
        self.plugin = plugin
        self.versions = versions
    }

    var name: String { plugin.manifest.name }
    var isolation: PluginIsolation { plugin.isolation }

    /// `scion-plugin-host` beside the scion executable, or in `<prefix>/lib/scion`.
    static func executable() -> String? {
        let bin = (ScionContext.currentExecutable() as NSString).deletingLastPathComponent
        let candidates = [bin + "/" + executableName,
                          (bin as NSString).deletingLastPathComponent + "/lib/scion/" + executableName]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    // MARK: the process

    /// Starts the helper and returns what the entry call said.
    func start() throws -> Hello {
        lock.lock()
        defer { lock.unlock() }
        return try startLocked()
    }

    private func startLocked() throws -> Hello {
        guard let executable = Self.executable() else {
            throw ScionError(.plugin, "plugin \(name) is set to run in a helper process (plugins.isolation: process), but \(Self.executableName) is not installed beside scion; reinstall scion or set plugins.isolation: in_process")
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ScionError(.plugin, "cannot start a helper process for plugin \(name): \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 0)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (a Ctrl-C on the terminal is scion's to
        // handle, as a cancel), no blocked signals, default dispositions.
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = [executable, plugin.libraryPath, String(versions.lowerBound), String(versions.upperBound),
                    String(isolation.memoryLimitMB)]
        var child: pid_t = 0
        let status = withCStrings(argv) { pointers in
            posix_spawn(&child, executable, &actions, &attributes, pointers, environ)
        }
        close(pair[1])
        guard status == 0 else {
            close(pair[0])
            throw ScionError(.plugin, "cannot start \(executable) for plugin \(name): \(String(cString: strerror(status)))")
        }
        pid = child
        socket = pair[0]
        buffer.removeAll()
        position = 0
        instances.removeAll()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(isolation.timeoutSeconds * 1e9)
        do {
            guard try readTag(deadline) == UInt8(ascii: "H") else {
                throw ScionError(.plugin, "the helper process of plugin \(name) did not start (\(end()))")
            }
            var hello = Hello(
                status: try read(Int32.self, deadline), abiVersion: try read(UInt32.self, deadline),
                flags: try read(UInt32.self, deadline), structSize: try read(UInt32.self, deadline),
                makesInstances: try read(UInt8.self, deadline) != 0, destroysInstances: try read(UInt8.self, deadline) != 0,
                hasCall: try read(UInt8.self, deadline) != 0, name: nil)
            let length = try read(UInt32.self, deadline)
            if length != UInt32.max { hello.name = String(decoding: try bytes(Int(length), deadline), as: UTF8.self) }
            return hello
        } catch let error as HelperFailure {
            throw ScionError(.plugin, error.message(plugin: name, operation: "its entry call"))
        }
    }

    /// Ends the helper (if running) and says how it ended.
    @discardableResult
    private func end(kill signal: Int32? = nil) -> String {
        guard pid > 0 else { return "not running" }
        if let signal { kill(pid, signal) }
        if socket >= 0 { close(socket) }
        socket = -1
        var status: Int32 = 0
        var waited: pid_t
        repeat { waited = waitpid(pid, &status, 0) } while waited < 0 && errno == EINTR
        pid = 0
        instances.removeAll()
        if waited < 0 { return "ended" }
        let signalled = status & 0x7f
        if signalled != 0 && signalled != 0x7f {
            return "killed by signal \(signalled), \(String(cString: strsignal(signalled)))"
        }
        return "exited with status \((status >> 8) & 0xff)"
    }

    // MARK: calls

    /// Why a call through the helper failed, turned into the plugin's error sentence.
    private enum HelperFailure: Error {
        case crashed(String)
        case timedOut(Double)
        case memory(UInt64, Int)

        func message(plugin: String, operation: String) -> String {
            switch self {
            case .crashed(let how):
                return "the \(plugin) plugin crashed during \(operation) (its helper process \(how)); that call failed, scion and the agent records are unaffected, and the next call starts a new helper"
            case .timedOut(let seconds):
                return "the \(plugin) plugin did not answer \(operation) within \(Self.seconds(seconds)) (plugins.timeout_seconds); its helper process was ended and the next call starts a new one"
            case .memory(let used, let limit):
                return "the \(plugin) plugin grew to \(used) MB during \(operation), over plugins.memory_limit_mb (\(limit) MB), so its helper process was ended; the plugin leaks or needs a higher limit"
            }
        }

        static func seconds(_ value: Double) -> String {
            value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
        }
    }

    /// One call, as `PluginConnection.callRaw` makes it in-process: the
    /// status and the answer. A helper that fails answers `unavailable` with a sentence.
    func call(
        _ operation: String, _ request: Data, configuration: Data?, cancellation: PluginCancellation?,
        onEvent: ((Data) -> Bool)?
    ) -> (status: Int32, body: Data) {
        lock.lock()
        defer { lock.unlock() }
        do {
            if pid == 0 {
                let hello = try startLocked()
                guard hello.status == Int32(SCION_OK.rawValue), hello.hasCall else {
                    end()
                    return Self.unavailable("the \(name) plugin did not start again in its helper process (status \(hello.status))")
                }
            }
            let instance = try configuration.map { try instanceID($0) } ?? 0
            var frame = Data([UInt8(ascii: "C")])
            frame.append(value: UInt32(operation.utf8.count))
            frame.append(contentsOf: Array(operation.utf8))
            frame.append(value: instance)
            frame.append(value: UInt64(request.count))
            frame.append(request)
            try send(frame)
            return try answer(operation, cancellation: cancellation, onEvent: onEvent)
        } catch let failure as HelperFailure {
            return Self.unavailable(failure.message(plugin: name, operation: operation))
        } catch let error as CreateFailure {
            return (error.status, error.body)
        } catch {
            return Self.unavailable("\(error)")
        }
    }

    private struct CreateFailure: Error {
        var status: Int32
        var body: Data
    }

    static func unavailable(_ message: String) -> (status: Int32, body: Data) {
        let body = (try? PayloadCoder.encode(PluginError(.unavailable, message))) ?? Data()
        return (Int32(SCION_ERR_UNAVAILABLE.rawValue), body)
    }

    private func instanceID(_ configuration: Data) throws -> UInt64 {
        if let known = instances[configuration] { return known }
        var frame = Data([UInt8(ascii: "I")])
        frame.append(value: UInt64(configuration.count))
        frame.append(configuration)
        try send(frame)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(isolation.timeoutSeconds * 1e9)
        while true {
            let tag = try readTag(deadline)
            if try handleAside(tag, deadline) { continue }
            guard tag == UInt8(ascii: "N") else { throw crash() }
            let status = try read(Int32.self, deadline)
            let id = try read(UInt64.self, deadline)
            let body = try bytes(Int(try read(UInt64.self, deadline)), deadline)
            guard status == Int32(SCION_OK.rawValue) else { throw CreateFailure(status: status, body: body) }
            instances[configuration] = id
            return id
        }
    }

    /// Reads frames until the answer; events go to `onEvent`, a cancel is passed on.
    private func answer(
        _ operation: String, cancellation: PluginCancellation?, onEvent: ((Data) -> Bool)?
    ) throws -> (status: Int32, body: Data) {
        let timeout = operation == PluginOperation.logs ? nil : isolation.timeoutSeconds
        var deadline = timeout.map { DispatchTime.now().uptimeNanoseconds + UInt64($0 * 1e9) } ?? UInt64.max
        var cancelSent = false, stopSent = false
        while true {
            if !cancelSent, cancellation?.isCancelled == true {
                try send(Data([UInt8(ascii: "X")]))
                cancelSent = true
            }
            guard try waitReadable(until: min(deadline, DispatchTime.now().uptimeNanoseconds + 100_000_000)) else {
                if DispatchTime.now().uptimeNanoseconds >= deadline {
                    end(kill: SIGKILL)
                    throw HelperFailure.timedOut(timeout ?? 0)
                }
                continue
            }
            let tag = try readTag(deadline)
            if try handleAside(tag, deadline) { continue }
            switch tag {
            case UInt8(ascii: "V"):
                let event = try bytes(Int(try read(UInt64.self, deadline)), deadline)
                if let timeout { deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9) }
                if let onEvent, !stopSent, !onEvent(event) {
                    try send(Data([UInt8(ascii: "S")]))
                    stopSent = true
                }
            case UInt8(ascii: "R"):
                let status = try read(Int32.self, deadline)
                let structSize = try read(UInt32.self, deadline)
                let body = try bytes(Int(try read(UInt64.self, deadline)), deadline)
                if structSize != UInt32(MemoryLayout<scion_buffer>.size) {
                    return Self.unavailable(PluginConnection.structSizeChanged(name, operation, structSize))
                }
                return (status, body)
            default:
                throw crash()
            }
        }
    }

    /// Log lines and the memory report can come at any time.
    private func handleAside(_ tag: UInt8, _ deadline: UInt64) throws -> Bool {
        switch tag {
        case UInt8(ascii: "L"):
            let level = try read(Int32.self, deadline)
            let text = String(decoding: try bytes(Int(try read(UInt64.self, deadline)), deadline), as: UTF8.self)
            let logger = Logger(label: "scion.plugin")
            level >= Int32(SCION_LOG_WARNING.rawValue) ? logger.warning("\(text)") : logger.debug("\(text)")
            return true
        case UInt8(ascii: "M"):
            let used = try read(UInt64.self, deadline)
            end(kill: SIGKILL)
            throw HelperFailure.memory(used, isolation.memoryLimitMB)
        default:
            return false
        }
    }

    private func crash() -> HelperFailure { .crashed(end(kill: SIGKILL)) }

    // MARK: bytes

    private func send(_ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let sent = data.withUnsafeBytes { raw in
                Glibc.send(socket, raw.baseAddress! + offset, data.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw crash() }
            offset += sent
        }
    }

    /// Waits until the socket has bytes (or buffered ones); false on timeout.
    private func waitReadable(until deadline: UInt64) throws -> Bool {
        if position < buffer.count { return true }
        let now = DispatchTime.now().uptimeNanoseconds
        let milliseconds = deadline > now ? Int32(min((deadline - now) / 1_000_000, 1000)) : 0
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, milliseconds)
        return ready > 0
    }

    /// Reads until `count` unparsed bytes are buffered.
    private func fill(_ count: Int, _ deadline: UInt64) throws {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        while buffer.count - position < count {
            guard try waitReadable(until: deadline) else {
                if DispatchTime.now().uptimeNanoseconds >= deadline {
                    end(kill: SIGKILL)
                    throw HelperFailure.timedOut(isolation.timeoutSeconds)
                }
                continue
            }
            let got = chunk.withUnsafeMutableBytes { Glibc.read(socket, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw crash() }
            buffer.append(contentsOf: chunk[0..<got])
        }
    }

    /// The next frame's tag.
    private func readTag(_ deadline: UInt64) throws -> UInt8 {
        try fill(1, deadline)
        position += 1
        return buffer[position - 1]
    }

    private func bytes(_ count: Int, _ deadline: UInt64) throws -> Data {
        try fill(count, deadline)
        defer { position += count }
        return Data(buffer[position..<position + count])
    }

    private func read<T: FixedWidthInteger>(_ type: T.Type, _ deadline: UInt64) throws -> T {
        try fill(MemoryLayout<T>.size, deadline)
        defer { position += MemoryLayout<T>.size }
        return buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
    }
}

extension Data {
    mutating func append<T: FixedWidthInteger>(value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }
}
