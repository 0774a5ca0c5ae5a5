import Foundation
import ScionContainerSupport
#if canImport(Glibc)
import Glibc
#endif

/// POST /exec/{id}/start over a hijacked connection: the request asks to
/// upgrade to a raw stream, then stdin goes one way (ended by a half-close)
/// and the multiplexed stdout/stderr frames come back until the process
/// ends. Without a TTY each frame is an 8-byte header [stream, 0, 0, 0,
/// size (big-endian u32)] and `size` bytes.
enum DockerExecStream {
    struct Output {
        var stdout = Data()
        var stderr = Data()
        /// The engine answered with an error instead of upgrading.
        var refused: HTTPResponse?
    }

    static func run(client: EngineHTTPClient, path: String, stdin: Data?) throws -> Output {
        let body = Data(#"{"Detach":false,"Tty":false}"#.utf8)
        let connection = try client.upgrade("POST", path, body: body)
        guard connection.status == 101 || connection.status == 200 else {
            return Output(refused: HTTPResponse(status: connection.status, body: connection.errorBody))
        }
        var demultiplexer = Demultiplexer()
        demultiplexer.feed(connection.leftover)

        let input = stdin ?? Data()
        var written = 0
        if input.isEmpty { connection.closeWrite() }
        while true {
            let wantsWrite = written < input.count
            try connection.wait(for: Int16(POLLIN) | (wantsWrite ? Int16(POLLOUT) : 0))
            if wantsWrite {
                do {
                    written += try connection.send(input[input.startIndex.advanced(by: written)...])
                } catch {
                    // The process stopped reading (it exited or closed stdin).
                    written = input.count
                }
                if written >= input.count { connection.closeWrite() }
            }
            guard let chunk = try connection.receive() else { continue }
            if chunk.isEmpty { break }
            demultiplexer.feed(chunk)
        }
        return Output(stdout: demultiplexer.stdout, stderr: demultiplexer.stderr)
    }

    struct Demultiplexer {
        var stdout = Data()
        var stderr = Data()
        private var buffer = Data()

        mutating func feed(_ data: Data) {
            buffer.append(data)
            var offset = buffer.startIndex
            while buffer.endIndex - offset >= 8 {
                let header = [UInt8](buffer[offset..<offset + 8])
                let size = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
                guard buffer.endIndex - offset >= 8 + size else { break }
                let payload = buffer[(offset + 8)..<(offset + 8 + size)]
                if header[0] == 2 { stderr.append(payload) } else { stdout.append(payload) }
                offset += 8 + size
            }
            if offset != buffer.startIndex { buffer = Data(buffer[offset...]) }
        }
    }
}
