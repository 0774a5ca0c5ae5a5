import Foundation
import ScionPluginABI

/// The call context: streams events back to the host during one call (log
/// lines, progress) and tells whether the host cancelled the call. Valid
/// only for the duration of the call that received it.
public struct EventSink: @unchecked Sendable {
    private let stream: UnsafePointer<scion_stream>?

    init(_ stream: UnsafePointer<scion_stream>?) {
        self.stream = stream
    }

    /// A sink that drops every event.
    public static let discarding = EventSink(nil)

    public var isListening: Bool { stream?.pointee.on_event != nil }

    /// Whether the host cancelled this call (Ctrl-C on `logs -f`, a client
    /// gone). A plugin that waits polls it at least every 200 ms and then
    /// returns. Always false with a 1.0 host, which cannot cancel.
    public var isCancelled: Bool {
        guard let stream,
              ABIStructs.covers(stream.pointee.struct_size, offset: ABIStructs.streamCancelOffset, width: ABIStructs.pointer),
              let cancelled = stream.pointee.is_cancelled
        else { return false }
        return cancelled(stream.pointee.context) != 0
    }

    /// Sends one event; returns false when the host asked to stop or
    /// cancelled the call.
    @discardableResult
    public func emit<T: Encodable>(_ event: T) -> Bool {
        if isCancelled { return false }
        guard let stream, let onEvent = stream.pointee.on_event,
              let data = try? PayloadCoder.encode(event)
        else { return true }
        return data.withUnsafeBytes { bytes in
            onEvent(stream.pointee.context, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count) == 0
        }
    }

    /// Sleeps up to `seconds`, waking early when the call is cancelled;
    /// returns false when it was.
    public func wait(_ seconds: Double) -> Bool {
        var left = seconds
        while left > 0 {
            if isCancelled { return false }
            let step = min(left, 0.05)
            usleep(UInt32(step * 1_000_000))
            left -= step
        }
        return !isCancelled
    }
}
