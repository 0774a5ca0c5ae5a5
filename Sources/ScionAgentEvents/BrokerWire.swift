#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The grove broker's protocol, spoken over the unix socket mounted into a
/// container agent (`/run/scion/broker.sock`, the agent's own: the socket a
/// request comes on is the agent's identity). Frames: one type byte, a
/// 4-byte big-endian length, the payload.
///
///     client → broker   'Q'  the command's arguments, each followed by a NUL byte
///                       'i'  all of the client's standard input, right after 'Q',
///                            when the arguments read it (`readsStandardInput`)
///     broker → client   'o'  bytes for standard output     (any number)
///                       'e'  bytes for standard error      (any number)
///                       'x'  the exit status, 4 bytes big-endian, last
///
/// The client keeps its end open while the command runs; closing it ends
/// the command (the broker stops the process it runs for it).
public enum BrokerWire {
    public static let request: UInt8 = 0x51
    public static let standardOutput: UInt8 = 0x6F
    public static let standardError: UInt8 = 0x65
    public static let exitStatus: UInt8 = 0x78
    public static let standardInput: UInt8 = 0x69
    /// Where a container agent finds its socket, and the variable that names another path.
    public static let containerDirectory = "/run/scion"
    public static let socketName = "broker.sock"
    public static var containerSocket: String { containerDirectory + "/" + socketName }
    public static let socketVariable = "SCION_BROKER_SOCKET"
    /// Longest request accepted (the arguments, a task among them).
    public static let maxRequest = 8 << 20
    /// Most standard input forwarded (read in full before the request is
    /// sent: the command gets it all, then end of file).
    public static let maxStandardInput = 8 << 20
    public static let headerSize = 5
    /// Tries, 100 ms apart, before the broker counts as unreachable.
    static let connectAttempts = 30

    public static func frame(_ type: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let count = UInt32(payload.count)
        return [type, UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)] + payload
    }

    /// The length of the frame whose header starts `bytes`, nil before 5 bytes.
    public static func payloadLength(_ bytes: some Collection<UInt8>) -> Int? {
        guard bytes.count >= headerSize else { return nil }
        var length = 0
        for byte in bytes.dropFirst().prefix(4) { length = length << 8 | Int(byte) }
        return length
    }

    /// Whether the command reads its standard input: a `-` argument (the
    /// task or message from stdin, `--task-file -`) or `--task-file=-`. The
    /// client sends it and the broker expects it by this same rule.
    public static func readsStandardInput(_ arguments: [String]) -> Bool {
        arguments.contains { $0 == "-" || $0 == "--task-file=-" }
    }

    /// Standard input to its end; nil when it is longer than `limit`.
    static func readStandardInput(limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { return nil }
        }
    }

    public static func encodeArguments(_ arguments: [String]) -> [UInt8] {
        arguments.flatMap { Array($0.utf8) + [0] }
    }

    public static func decodeArguments(_ payload: some Collection<UInt8>) -> [String] {
        payload.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    public static func exitPayload(_ status: Int32) -> [UInt8] {
        let value = UInt32(bitPattern: status)
        return [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    public enum ClientError: Error {
        case unreachable(String)
        /// Standard input over `maxStandardInput`: nothing was sent.
        case inputTooLarge
    }

    /// Runs `arguments` through the broker at `socketPath`: its output goes
    /// to this process's stdout and stderr; returns its exit status.
    public static func run(socketPath: String, arguments: [String]) throws(ClientError) -> Int32 {
        // Read before connecting: a slow writer holds no broker connection.
        var input: [UInt8]?
        if readsStandardInput(arguments) {
            guard let bytes = readStandardInput(limit: maxStandardInput) else { throw .inputTooLarge }
            input = bytes
        }
        #if canImport(Glibc)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw .unreachable("cannot make a socket (errno \(errno))") }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .unreachable("the socket path \(socketPath) is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
            raw[path.count] = 0
        }
        // A freshly started agent may ask before the broker has opened its
        // socket (it looks for new agents twice a second): retry a moment.
        var connected: Int32 = -1
        for attempt in 0..<connectAttempts {
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected != 0, errno == ENOENT || errno == ECONNREFUSED, attempt + 1 < connectAttempts else { break }
            usleep(100_000)
        }
        guard connected == 0 else {
            let reason = errno == ENOENT ? "there is no broker socket at \(socketPath)"
                : errno == ECONNREFUSED ? "the grove broker is not running" : "cannot connect to \(socketPath) (errno \(errno))"
            throw .unreachable(reason)
        }
        guard writeAll(descriptor, frame(request, encodeArguments(arguments)) + (input.map { frame(standardInput, $0) } ?? [])) else {
            throw .unreachable("the grove broker closed the connection")
        }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .unreachable("the grove broker went away before the command finished") }
            pending += chunk[0..<count]
            while let length = payloadLength(pending), pending.count >= headerSize + length {
                let type = pending[0]
                let payload = Array(pending[headerSize..<(headerSize + length)])
                pending.removeFirst(headerSize + length)
                switch type {
                case standardOutput: _ = writeAll(1, payload)
                case standardError: _ = writeAll(2, payload)
                case exitStatus where payload.count == 4:
                    let value = payload.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    return Int32(bitPattern: value)
                default: break
                }
            }
        }
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
