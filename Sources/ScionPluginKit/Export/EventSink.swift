import Foundation
import ScionPluginABI

/// Streams events back to the host during one call (log lines, progress).
/// Valid only for the duration of the call that received it.
public struct EventSink: @unchecked Sendable {
    private let stream: UnsafePointer<scion_stream>?

    init(_ stream: UnsafePointer<scion_stream>?) {
        self.stream = stream
    }

    /// A sink that drops every event.
    public static let discarding = EventSink(nil)

    public var isListening: Bool { stream?.pointee.on_event != nil }

    /// Sends one event; returns false when the host asked to stop.
    @discardableResult
    public func emit<T: Encodable>(_ event: T) -> Bool {
        guard let stream, let onEvent = stream.pointee.on_event,
              let data = try? PayloadCoder.encode(event)
        else { return true }
        return data.withUnsafeBytes { bytes in
            onEvent(stream.pointee.context, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count) == 0
        }
    }
}
