import Foundation

/// The agent window's output, appended by tmux's pipe-pane to
/// `Tmux.logPath` in the agent home. The home is a host directory (mounted
/// at the same path in containers), so the log is read straight from the
/// host, whatever the runtime; the agent controls that folder, so the log
/// is opened without following links (UntrustedDirectory).
public struct AgentLogFile: Sendable {
    public let home: UntrustedDirectory
    public let relativePath: String

    public init(home: String, relativePath: String = Tmux.logPath) {
        self.home = UntrustedDirectory(home)
        self.relativePath = relativePath
    }

    /// Sends the last `tail` lines (all when nil), then, when `follow`, new
    /// output as it is written, until `isAlive` answers false (checked at
    /// most once per `aliveInterval` while the file is idle) or the host
    /// asks to stop.
    public func stream(
        tail: Int?, follow: Bool, sink: EventSink, aliveInterval: TimeInterval = 1,
        isAlive: () throws -> Bool
    ) throws {
        var lastCheck = Date.distantPast
        func stillAlive() throws -> Bool {
            guard Date().timeIntervalSince(lastCheck) >= aliveInterval else { return true }
            lastCheck = Date()
            return try isAlive()
        }

        var handle = try home.openForReading(relativePath)
        if handle == nil {
            guard follow else { return }
            while handle == nil {
                guard try stillAlive(), sink.wait(0.2) else { return }
                handle = try home.openForReading(relativePath)
            }
        }
        guard let handle else { return }
        defer { try? handle.close() }

        var pending = Data()
        if let tail {
            pending = try Self.lastLines(tail, of: handle)
        } else {
            pending = handle.readDataToEndOfFile()
        }
        guard emit(&pending, sink: sink) else { return }
        guard follow else {
            if !pending.isEmpty { sink.emit(LogChunk(text: String(decoding: pending, as: UTF8.self))) }
            return
        }
        while true {
            let more = handle.readDataToEndOfFile()
            if !more.isEmpty {
                pending.append(more)
                guard emit(&pending, sink: sink) else { return }
                continue
            }
            if try !stillAlive() {
                // The last words written before the container stopped.
                pending.append(handle.readDataToEndOfFile())
                if !pending.isEmpty { sink.emit(LogChunk(text: String(decoding: pending, as: UTF8.self))) }
                return
            }
            guard sink.wait(0.2) else { return }  // the host cancelled the call
        }
    }

    /// Emits the complete UTF-8 prefix of `pending`, keeping a split
    /// character for the next read. False when the host asked to stop.
    private func emit(_ pending: inout Data, sink: EventSink) -> Bool {
        let complete = Self.completeUTF8Prefix(pending)
        guard complete > 0 else { return true }
        let text = String(decoding: pending.prefix(complete), as: UTF8.self)
        pending = Data(pending.dropFirst(complete))
        return sink.emit(LogChunk(text: text))
    }

    /// The length of the longest prefix that does not end inside a UTF-8
    /// sequence.
    static func completeUTF8Prefix(_ data: Data) -> Int {
        let bytes = [UInt8](data.suffix(4))
        let end = data.count
        for back in 1...max(1, bytes.count) where back <= bytes.count {
            let byte = bytes[bytes.count - back]
            if byte & 0x80 == 0 { return end }  // ASCII: complete
            if byte & 0xC0 == 0x80 { continue }  // continuation byte
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
            return length <= back ? end : end - back
        }
        return end
    }

    /// Reads backwards from the end until `count` lines are found.
    static func lastLines(_ count: Int, of handle: FileHandle) throws -> Data {
        let size = try handle.seekToEnd()
        guard count > 0 else { return Data() }
        var offset = size
        var buffer = Data()
        let block: UInt64 = 64 * 1024
        while offset > 0 {
            let start = offset >= block ? offset - block : 0
            try handle.seek(toOffset: start)
            let chunk = handle.readData(ofLength: Int(offset - start))
            buffer = chunk + buffer
            offset = start
            // A trailing newline ends the last line; it does not start one.
            let newlines = buffer.dropLast(buffer.last == 0x0A ? 1 : 0).filter { $0 == 0x0A }.count
            if newlines >= count { break }
        }
        try handle.seek(toOffset: size)
        let body = buffer.last == 0x0A ? buffer.dropLast() : buffer[...]
        var kept = 0
        var cut = body.startIndex
        for index in body.indices.reversed() where body[index] == 0x0A {
            kept += 1
            if kept == count {
                cut = index + 1
                break
            }
        }
        return Data(buffer[cut...])
    }
}
