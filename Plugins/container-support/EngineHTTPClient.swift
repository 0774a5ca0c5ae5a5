import CCurl
import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

public struct HTTPResponse: Sendable {
    public var status: Int
    public var body: Data

    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The `message` of a JSON error body (Docker's shape), else the text.
    public var errorMessage: String {
        struct Message: Decodable { var message: String }
        if let decoded = try? JSONDecoder().decode(Message.self, from: body) { return decoded.message }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "HTTP \(status)" : trimmed
    }
}

/// The engine could not be reached at all (as opposed to an HTTP error).
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public var endpoint: EngineEndpoint
    public var reason: String
    /// True when nothing answered (no socket, refused, no such host).
    public var couldNotConnect: Bool
    public var timedOut: Bool

    public var description: String { "\(endpoint): \(reason)" }
}

/// A small HTTP/1.1 client for container engine APIs (Docker's Engine API)
/// over a unix socket or plain TCP, built on libcurl. One connection per
/// request: the engines answer on a local socket in well under a
/// millisecond, so there is nothing to gain from pooling.
public struct EngineHTTPClient: Sendable {
    public let endpoint: EngineEndpoint
    public var connectTimeoutSeconds = 5
    public var userAgent = "scion"


    public init(endpoint: EngineEndpoint) {
        self.endpoint = endpoint
    }

    /// One request; the whole response body is collected. `timeoutSeconds`
    /// 0 waits as long as it takes.
    public func send(
        _ method: String, _ path: String, body: Data? = nil, timeoutSeconds: Int = 120
    ) throws -> HTTPResponse {
        let transfer = CurlTransfer(onData: nil)
        try perform(method, path, body: body, timeoutSeconds: timeoutSeconds, transfer: transfer)
        return HTTPResponse(status: transfer.status, body: transfer.body)
    }

    /// One request whose successful (2xx) response body is handed to
    /// `onData` as it arrives; `onData` returns false to stop early. An
    /// error response's body is collected and returned instead.
    public func stream(
        _ method: String, _ path: String, body: Data? = nil, timeoutSeconds: Int = 0,
        onData: @escaping (Data) -> Bool
    ) throws -> HTTPResponse {
        let transfer = CurlTransfer(onData: onData)
        do {
            try perform(method, path, body: body, timeoutSeconds: timeoutSeconds, transfer: transfer)
        } catch let error as HTTPTransportError where transfer.stoppedByCaller {
            _ = error
        }
        return HTTPResponse(status: transfer.status, body: transfer.body)
    }

    /// Sends a request asking to upgrade the connection to a raw stream
    /// (Docker's hijacked attach/exec protocol) and returns the connection
    /// once the response head has arrived.
    public func upgrade(_ method: String, _ path: String, body: Data) throws -> UpgradedConnection {
        guard let curl = ccurl_easy_init() else {
            throw HTTPTransportError(endpoint: endpoint, reason: curlStartFailureReason(), couldNotConnect: false, timedOut: false)
        }
        var keep = false
        defer { if !keep { ccurl_easy_cleanup(curl) } }
        try configure(curl, url: endpoint.baseURL + "/", timeoutSeconds: 0)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECT_ONLY, 1)
        let code = ccurl_perform(curl)
        guard code == CURLE_OK else { throw transportError(code) }
        let fd = ccurl_active_socket(curl)
        guard fd >= 0 else {
            throw HTTPTransportError(endpoint: endpoint, reason: "no socket after connecting", couldNotConnect: true, timedOut: false)
        }
        let connection = UpgradedConnection(curl: curl, fd: fd, endpoint: endpoint)
        keep = true
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: \(userAgent)\r\n"
        head += "Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        head += "Content-Length: \(body.count)\r\n\r\n"
        try connection.write(Data(head.utf8) + body)
        try connection.readHead()
        return connection
    }

    private func perform(
        _ method: String, _ path: String, body: Data?, timeoutSeconds: Int, transfer: CurlTransfer
    ) throws {
        guard let curl = ccurl_easy_init() else {
            throw HTTPTransportError(endpoint: endpoint, reason: curlStartFailureReason(), couldNotConnect: false, timedOut: false)
        }
        defer { ccurl_easy_cleanup(curl) }
        try configure(curl, url: endpoint.baseURL + path, timeoutSeconds: timeoutSeconds)

        var headers: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(headers) }
        headers = ccurl_slist_append(headers, "Expect:")
        CurlRequest.setMethod(curl, method, body: body, contentType: "application/json", headers: &headers)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))

        transfer.attach(to: curl)
        let code = withExtendedLifetime(transfer) { ccurl_perform(curl) }
        transfer.finish()
        guard code == CURLE_OK else { throw transportError(code) }
    }

    private func configure(_ curl: UnsafeMutableRawPointer, url: String, timeoutSeconds: Int) throws {
        _ = ccurl_setopt_string(curl, CURLOPT_URL, url)
        if let socketPath = endpoint.socketPath {
            _ = ccurl_set_unix_socket(curl, socketPath)
        }
        _ = ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        _ = ccurl_setopt_long(curl, CURLOPT_TIMEOUT, max(0, timeoutSeconds))
        _ = ccurl_setopt_string(curl, CURLOPT_USERAGENT, userAgent)
    }

    private func transportError(_ code: CURLcode) -> HTTPTransportError {
        let reason = String(cString: ccurl_easy_strerror(code))
        let connect = [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY].contains(code)
        return HTTPTransportError(
            endpoint: endpoint, reason: reason, couldNotConnect: connect, timedOut: code == CURLE_OPERATION_TIMEDOUT)
    }
}

/// Request setup shared by the libcurl clients (this one and the Kubernetes
/// runtime's): the method, and the body with its content type.
public enum CurlRequest {
    public static func setMethod(
        _ curl: UnsafeMutableRawPointer, _ method: String, body: Data?, contentType: String,
        headers: inout UnsafeMutablePointer<curl_slist>?
    ) {
        switch method {
        case "GET": break
        case "POST": _ = ccurl_setopt_long(curl, CURLOPT_POST, 1)
        default: _ = ccurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method)
        }
        if let body, !body.isEmpty {
            headers = ccurl_slist_append(headers, "Content-Type: \(contentType)")
            _ = ccurl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, body.count)
            body.withUnsafeBytes { bytes in
                _ = ccurl_setopt_pointer(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            }
        } else if method != "GET" {
            _ = ccurl_setopt_long(curl, CURLOPT_POSTFIELDSIZE, 0)
            _ = ccurl_setopt_string(curl, CURLOPT_COPYPOSTFIELDS, "")
        }
    }
}

/// A connection taken over after an HTTP upgrade: raw bytes both ways.
public final class UpgradedConnection {
    private let curl: UnsafeMutableRawPointer
    public let fd: Int32
    let endpoint: EngineEndpoint
    /// The response's status (101 when the upgrade happened).
    public private(set) var status = 0
    /// Bytes that arrived after the response head.
    public private(set) var leftover = Data()
    /// The response body, for a response that did not upgrade.
    public private(set) var errorBody = Data()
    private var writeClosed = false

    init(curl: UnsafeMutableRawPointer, fd: Int32, endpoint: EngineEndpoint) {
        self.curl = curl
        self.fd = fd
        self.endpoint = endpoint
    }

    deinit {
        ccurl_easy_cleanup(curl)
    }

    func failure(_ reason: String) -> HTTPTransportError {
        HTTPTransportError(endpoint: endpoint, reason: reason, couldNotConnect: false, timedOut: false)
    }

    /// Writes all of `data`, waiting for the socket as needed.
    func write(_ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let sent = try send(data[data.startIndex.advanced(by: offset)...])
            if sent == 0 { try wait(for: Int16(POLLOUT)) }
            offset += sent
        }
    }

    /// Sends what the socket takes now (possibly nothing).
    public func send(_ data: Data) throws -> Int {
        var sent = 0
        let code = data.withUnsafeBytes { bytes in
            ccurl_easy_send(curl, bytes.baseAddress, bytes.count, &sent)
        }
        if code == CURLE_AGAIN { return 0 }
        guard code == CURLE_OK else { throw failure("send failed: \(String(cString: ccurl_easy_strerror(code)))") }
        return sent
    }

    /// Reads what is available: nil when nothing is (try again after poll),
    /// empty data at end of stream.
    public func receive(max: Int = 65536) throws -> Data? {
        var buffer = [UInt8](repeating: 0, count: max)
        var received = 0
        let code = ccurl_easy_recv(curl, &buffer, max, &received)
        if code == CURLE_AGAIN { return nil }
        guard code == CURLE_OK else { throw failure("receive failed: \(String(cString: ccurl_easy_strerror(code)))") }
        return Data(buffer[0..<received])
    }

    /// Ends our side of the stream (the engine sees end of input).
    public func closeWrite() {
        guard !writeClosed else { return }
        writeClosed = true
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Waits until the socket is ready for `events`; false on timeout.
    @discardableResult
    public func wait(for events: Int16, timeoutMilliseconds: Int32 = -1) throws -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&entry, 1, timeoutMilliseconds)
            if ready >= 0 { return ready > 0 }
            guard errno == EINTR else { throw failure("poll failed: \(String(cString: strerror(errno)))") }
        }
    }

    /// Reads the response head; for a response that did not upgrade, also
    /// its body (by Content-Length, else to the end of the stream).
    func readHead() throws {
        var buffer = Data()
        let separator = Data("\r\n\r\n".utf8)
        var headEnd: Range<Data.Index>?
        while headEnd == nil {
            guard let chunk = try receive() else {
                try wait(for: Int16(POLLIN))
                continue
            }
            guard !chunk.isEmpty else { throw failure("the engine closed the connection before answering") }
            buffer.append(chunk)
            headEnd = buffer.range(of: separator)
            if headEnd == nil && buffer.count > 1 << 20 { throw failure("response head too large") }
        }
        let head = String(decoding: buffer[..<headEnd!.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        status = statusParts.count > 1 ? Int(statusParts[1]) ?? 0 : 0
        leftover = Data(buffer[headEnd!.upperBound...])
        guard status != 101 else { return }
        // Not upgraded: an ordinary (error) response.
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].trimmingCharacters(in: .whitespaces))
        }.first
        var body = leftover
        leftover = Data()
        while length.map({ body.count < $0 }) ?? true {
            guard let chunk = try receive() else {
                guard try wait(for: Int16(POLLIN), timeoutMilliseconds: 5000) else { break }
                continue
            }
            if chunk.isEmpty { break }
            body.append(chunk)
        }
        errorBody = body
    }
}
