import Foundation

/// Runs a program and hands each line it writes (stdout and stderr merged)
/// to a callback as it arrives: for `podman pull`, whose progress would
/// otherwise only show once it is over. ScionPluginKit's Subprocess covers
/// everything that does not need to stream.
enum LineStreamingProcess {
    struct Result {
        var status: Int32
        /// The last lines written, for error messages.
        var tail: [String]
    }

    /// `onLine` returns false to stop early (the process is then terminated).
    static func run(_ argv: [String], onLine: (String) -> Bool) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? pipe.fileHandleForWriting.close()

        var tail: [String] = []
        var pending = Data()
        var stopped = false
        func deliver(_ line: Data) {
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return }
            tail.append(text)
            if tail.count > 20 { tail.removeFirst() }
            if !stopped && !onLine(text) {
                stopped = true
                process.terminate()
            }
        }
        let reader = pipe.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            // Progress bars redraw with carriage returns: treat them as line ends.
            while let end = pending.firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                deliver(pending[pending.startIndex..<end])
                pending = Data(pending[(end + 1)...])
            }
        }
        deliver(pending)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, tail: tail)
    }
}
