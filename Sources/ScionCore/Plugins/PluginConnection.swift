import Foundation
import ScionPluginABI
import ScionPluginKit
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Cancels a running plugin call from another thread: the plugin sees it
/// through `is_cancelled` in its call context (scion_plugin.h section 7).
public final class PluginCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .releasing) }
    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

/// One plugin instance: the default one from the entry call, or one the
/// plugin made for a configuration. Calls into it are serialized unless the
/// plugin declared itself thread-safe.
public final class PluginInstanceHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
    let lock: NSLock?
    let inFlight = Atomic<Int>(0)
    /// For a plugin in a helper process: the configuration its instance is made for there.
    let configuration: Data?

    init(_ pointer: UnsafeMutableRawPointer?, serialized: Bool, configuration: Data? = nil) {
        self.pointer = pointer
        self.lock = serialized ? NSLock() : nil
        self.configuration = configuration
    }
}

/// One loaded plugin.
public final class PluginConnection: @unchecked Sendable {
    public let plugin: DiscoveredPlugin
    /// The plugin set SCION_PLUGIN_THREAD_SAFE: calls on one instance may overlap.
    public let isThreadSafe: Bool
    /// The ABI version the plugin chose.
    public let abiVersion: UInt32
    /// The plugin makes an instance per configuration (create_instance).
    public var makesInstances: Bool { create != nil || helperMakesInstances }
    public let defaultInstance: PluginInstanceHandle
    /// Set when the plugin runs in a helper process (plugins.isolation: process).
    let helper: PluginHelper?
    private let function: scion_call_fn?
    private let create: scion_create_instance_fn?
    private let destroy: scion_destroy_instance_fn?
    private let helperMakesInstances: Bool
    private let created = Mutex<[Data: PluginInstanceHandle]>([:])

    init(plugin: DiscoveredPlugin, api: scion_plugin_api, call: @escaping scion_call_fn) {
        self.plugin = plugin
        self.function = call
        self.helper = nil
        self.helperMakesInstances = false
        self.isThreadSafe = api.flags & SCION_PLUGIN_THREAD_SAFE != 0
        self.abiVersion = api.abi_version
        self.create = api.create_instance
        self.destroy = api.destroy_instance
        self.defaultInstance = PluginInstanceHandle(api.instance, serialized: !isThreadSafe)
        if create != nil { Self.registerForExit(self) }
    }

    /// A plugin in a helper process: calls go over its socket, one at a
    /// time; its instances live there and end with it.
    init(plugin: DiscoveredPlugin, helper: PluginHelper, hello: PluginHelper.Hello) {
        self.plugin = plugin
        self.function = nil
        self.helper = helper
        self.helperMakesInstances = hello.makesInstances
        self.isThreadSafe = false
        self.abiVersion = hello.abiVersion
        self.create = nil
        self.destroy = nil
        self.defaultInstance = PluginInstanceHandle(nil, serialized: false)
    }

    /// Where the plugin runs.
    public var isolation: PluginIsolation.Mode { helper == nil ? .inProcess : .process }

    var name: String { plugin.manifest.name }

    // MARK: instances

    /// The instance for `configuration`, made once (create_instance) and
    /// destroyed at exit; the default instance for a plugin that does not
    /// make instances (it reads the configuration from each request).
    public func instance(configuration: [String: JSONValue]) throws -> PluginInstanceHandle {
        guard makesInstances else { return defaultInstance }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let key = try encoder.encode(configuration)
        if helper != nil {
            // Made in the helper at its first call (and again in a new helper after a crash).
            return created.withLock { cache in
                if let existing = cache[key] { return existing }
                let handle = PluginInstanceHandle(nil, serialized: false, configuration: key)
                cache[key] = handle
                return handle
            }
        }
        guard let create else { return defaultInstance }
        return try created.withLock { cache in
            if let existing = cache[key] { return existing }
            var error = scion_buffer()
            error.struct_size = UInt32(MemoryLayout<scion_buffer>.size)
            var made: UnsafeMutableRawPointer?
            let status = key.withUnsafeBytes { bytes in
                create(defaultInstance.pointer, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &made, &error)
            }
            let body = error.data.map { Data(bytes: $0, count: error.length) } ?? Data()
            free(error.data)
            guard status == Int32(SCION_OK.rawValue) else { throw failure(status, body, "create_instance") }
            let handle = PluginInstanceHandle(made, serialized: !isThreadSafe)
            cache[key] = handle
            return handle
        }
    }

    /// Destroys every instance this connection made, except one in a call.
    public func destroyInstances() {
        guard let destroy else { return }
        let instances = created.withLock { cache in
            defer { cache.removeAll() }
            return Array(cache.values)
        }
        for instance in instances {
            instance.lock?.lock()
            if instance.inFlight.load(ordering: .acquiring) == 0 { destroy(instance.pointer) }
            instance.lock?.unlock()
        }
    }

    private static let live = Mutex<[PluginConnection]>([])
    private static let exitHook: Void = { atexit { PluginConnection.destroyAllInstances() } }()

    static func registerForExit(_ connection: PluginConnection) {
        _ = exitHook
        live.withLock { $0.append(connection) }
    }

    /// Ends every created instance of every plugin: at exit.
    public static func destroyAllInstances() {
        for connection in live.withLock({ $0 }) { connection.destroyInstances() }
    }

    // MARK: calls

    private final class CallContext {
        let handler: ((Data) -> Bool)?
        let cancellation: PluginCancellation?
        init(_ handler: ((Data) -> Bool)?, _ cancellation: PluginCancellation?) {
            self.handler = handler
            self.cancellation = cancellation
        }
    }

    /// Calls `operation` with a JSON request on `instance` (the default
    /// one when nil). It blocks: async code uses `callDetached`. `onEvent`
    /// receives streamed events and returns false to stop them;
    /// `cancellation` cancels the call from another thread.
    public func call(
        _ operation: String, _ request: Data, on instance: PluginInstanceHandle? = nil,
        cancellation: PluginCancellation? = nil, onEvent: ((Data) -> Bool)? = nil
    ) throws -> Data {
        let (status, body) = callRaw(operation, request, on: instance, cancellation: cancellation, onEvent: onEvent)
        guard status == Int32(SCION_OK.rawValue) else { throw failure(status, body, operation) }
        return body
    }

    /// One call as it crosses the boundary: the status and the response
    /// bytes, unread (for tools and the schema tests).
    public func callRaw(
        _ operation: String, _ request: Data, on instance: PluginInstanceHandle? = nil,
        cancellation: PluginCancellation? = nil, onEvent: ((Data) -> Bool)? = nil
    ) -> (status: Int32, body: Data) {
        let instance = instance ?? defaultInstance
        if let helper {
            return helper.call(operation, request, configuration: instance.configuration, cancellation: cancellation, onEvent: onEvent)
        }
        guard let function else { return PluginHelper.unavailable("the \(name) plugin has no call function") }
        instance.lock?.lock()
        instance.inFlight.add(1, ordering: .acquiringAndReleasing)
        defer {
            instance.inFlight.subtract(1, ordering: .acquiringAndReleasing)
            instance.lock?.unlock()
        }
        var response = scion_buffer()
        response.struct_size = UInt32(MemoryLayout<scion_buffer>.size)
        var stream = scion_stream()
        stream.struct_size = UInt32(MemoryLayout<scion_stream>.size)
        let context = (onEvent != nil || cancellation != nil) ? CallContext(onEvent, cancellation) : nil
        if let context {
            stream.context = Unmanaged.passUnretained(context).toOpaque()
            if context.handler != nil {
                stream.on_event = { context, bytes, length in
                    guard let context else { return 0 }
                    let box = Unmanaged<CallContext>.fromOpaque(context).takeUnretainedValue()
                    if box.cancellation?.isCancelled == true { return 1 }
                    guard let bytes, let handler = box.handler else { return 0 }
                    return handler(Data(bytes: bytes, count: length)) ? 0 : 1
                }
            }
            if context.cancellation != nil {
                stream.is_cancelled = { context in
                    guard let context else { return 0 }
                    return Unmanaged<CallContext>.fromOpaque(context).takeUnretainedValue().cancellation?.isCancelled == true ? 1 : 0
                }
            }
        }
        let status = withExtendedLifetime(context) {
            request.withUnsafeBytes { bytes in
                function(instance.pointer, operation, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &stream, &response)
            }
        }
        let body = response.data.map { Data(bytes: $0, count: response.length) } ?? Data()
        free(response.data)
        if response.struct_size != UInt32(MemoryLayout<scion_buffer>.size) {
            return PluginHelper.unavailable(Self.structSizeChanged(name, operation, response.struct_size))
        }
        return (status, body)
    }

    /// The refusal of an answer whose scion_buffer had its struct_size overwritten.
    static func structSizeChanged(_ name: String, _ operation: String, _ size: UInt32) -> String {
        "the \(name) plugin answered \(operation) with the response buffer's struct_size changed from \(MemoryLayout<scion_buffer>.size) to \(size); struct_size belongs to the host, which allocated the buffer, so the answer is refused"
    }

    /// The same call on a dedicated thread, never on the cooperative pool;
    /// cancelling the task cancels the call.
    public func callDetached(
        _ operation: String, _ request: Data, on instance: PluginInstanceHandle? = nil,
        onEvent: (@Sendable (Data) -> Bool)? = nil
    ) async throws -> Data {
        let cancellation = PluginCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, any Error>) in
                let thread = Thread { [self] in
                    continuation.resume(with: Result {
                        try self.call(operation, request, on: instance, cancellation: cancellation, onEvent: onEvent)
                    })
                }
                thread.name = "scion plugin \(name) \(operation)"
                thread.start()
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The error a failed call reports: the plugin's own code and message
    /// when it sent a JSON error (the status is only the fallback), "did not
    /// answer" when it sent nothing.
    func failure(_ status: Int32, _ body: Data, _ operation: String) -> ScionError {
        let statusCode = PluginError.Code(status: status)
        guard !body.isEmpty else {
            return ScionError(PluginError(
                statusCode, "the \(name) plugin did not answer \(operation) (status \(status), and no error message)"))
        }
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            return ScionError(.plugin, "the \(name) plugin failed \(operation) (status \(status)) with an error that is not a JSON object")
        }
        let message = object["message"]?.stringValue ?? "the \(name) plugin failed \(operation) without an error message"
        var details: [String: JSONValue] = [:]
        if case .object(let given)? = object["details"] { details = given }
        guard case .string(let raw)? = object["code"] else { return ScionError(PluginError(statusCode, message, details: details)) }
        let code = PluginError.Code(rawValue: raw)
        if ScionError.Code.knows(code) { return ScionError(PluginError(code, message, details: details)) }
        // A code of the plugin's own: shown to the user; the status decides the exit code.
        var error = PluginError(statusCode, "\(message) (\(name) plugin error \(raw))", details: details)
        error.details["code"] = .string(raw)
        return ScionError(error)
    }

    public func call<Request: Encodable, Response: Decodable>(
        _ operation: String, _ request: Request, as: Response.Type = Response.self, on instance: PluginInstanceHandle? = nil,
        cancellation: PluginCancellation? = nil, onEvent: ((Data) -> Bool)? = nil
    ) throws -> Response {
        let body = try call(operation, PayloadCoder.encode(request), on: instance, cancellation: cancellation, onEvent: onEvent)
        return try decodeAnswer(body, operation)
    }

    /// Decodes an answer; a malformed one says what was wrong and where.
    func decodeAnswer<Response: Decodable>(_ body: Data, _ operation: String) throws -> Response {
        do {
            return try PayloadCoder.decode(body)
        } catch let error as PayloadError {
            throw ScionError(.plugin, "the \(name) plugin answered \(operation) with a malformed payload: \(error)", cause: error)
        }
    }
}
