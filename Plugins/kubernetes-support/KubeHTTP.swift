import CCurl
import Foundation
import ScionContainerSupport
import ScionPluginKit

/// One HTTP response of the API server.
public struct KubeResponse: Sendable {
    public var status: Int
    public var body: Data
    public var headers: [String: String]

    public init(status: Int, body: Data, headers: [String: String] = [:]) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The `Status` object of an error response (`message`, `reason`).
    public var statusObject: (message: String, reason: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              object["kind"] as? String == "Status"
        else { return nil }
        return (object["message"] as? String ?? "", object["reason"] as? String ?? "")
    }

    /// Retry-After in seconds, when the server gave one.
    public var retryAfter: Double? { headers["retry-after"].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
}

/// HTTPS to the API server through libcurl, with the CA, client
/// certificate and key given as in-memory blobs (nothing written to disk).
/// One connection per request.
struct KubeHTTP: Sendable {
    let access: ClusterAccess
    var connectTimeoutSeconds = 10


    struct TransportError: Error, CustomStringConvertible {
        var reason: String
        var couldNotConnect: Bool
        var description: String { reason }
    }

    /// One request. `onData` (for watches and log follows) receives a
    /// successful response's body as it arrives and returns false to stop;
    /// `isCancelled` is polled about every 200 ms while the transfer waits.
    func perform(
        _ method: String, _ pathAndQuery: String, body: Data?, contentType: String, credential: RequestCredential,
        timeoutSeconds: Int, onData: ((Data) -> Bool)? = nil, isCancelled: (() -> Bool)? = nil
    ) throws -> KubeResponse {
        guard let curl = ccurl_easy_init() else { throw TransportError(reason: curlStartFailureReason(), couldNotConnect: false) }
        defer { ccurl_easy_cleanup(curl) }

        var url = access.server + pathAndQuery
        var connectTo: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(connectTo) }
        if let name = access.tlsServerName, let parts = URLComponents(string: access.server), let host = parts.host {
            // Verify (and send SNI for) tls-server-name while connecting to the server's real address.
            let port = parts.port ?? 443
            var swapped = parts
            swapped.host = name
            url = (swapped.string ?? access.server) + pathAndQuery
            connectTo = ccurl_slist_append(connectTo, "\(name):\(port):\(host):\(port)")
            _ = ccurl_setopt_pointer(curl, CURLOPT_CONNECT_TO, UnsafeMutableRawPointer(connectTo))
        }
        _ = ccurl_setopt_string(curl, CURLOPT_URL, url)
        _ = ccurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = ccurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        _ = ccurl_setopt_long(curl, CURLOPT_TIMEOUT, max(0, timeoutSeconds))
        _ = ccurl_setopt_string(curl, CURLOPT_USERAGENT, "scion-kubernetes/0.1")
        if access.insecureSkipTLSVerify {
            _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
            _ = ccurl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
        }
        let ca = access.insecureSkipTLSVerify ? nil : access.caPEM
        try withBlob(ca) { blob in
            if let blob { _ = ccurl_setopt_pointer(curl, CURLOPT_CAINFO_BLOB, blob) }
            try withBlob(credential.clientCertificatePEM) { cert in
                try withBlob(credential.clientKeyPEM) { key in
                    if let cert, let key {
                        _ = ccurl_setopt_string(curl, CURLOPT_SSLCERTTYPE, "PEM")
                        _ = ccurl_setopt_pointer(curl, CURLOPT_SSLCERT_BLOB, cert)
                        _ = ccurl_setopt_string(curl, CURLOPT_SSLKEYTYPE, "PEM")
                        _ = ccurl_setopt_pointer(curl, CURLOPT_SSLKEY_BLOB, key)
                    }
                }
            }
        }

        var headers: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(headers) }
        headers = ccurl_slist_append(headers, "Expect:")
        headers = ccurl_slist_append(headers, "Accept: application/json")
        if let token = credential.bearerToken { headers = ccurl_slist_append(headers, "Authorization: Bearer \(token)") }
        CurlRequest.setMethod(curl, method, body: body, contentType: contentType, headers: &headers)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))

        let transfer = CurlTransfer(onData: onData, isCancelled: isCancelled)
        transfer.attach(to: curl)
        let code = withExtendedLifetime(transfer) { ccurl_perform(curl) }
        transfer.finish()
        if code != CURLE_OK && !transfer.stoppedByCaller {
            let reason = String(cString: ccurl_easy_strerror(code))
            let connect = [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY].contains(code)
            throw TransportError(reason: reason, couldNotConnect: connect)
        }
        return KubeResponse(status: transfer.status, body: transfer.body, headers: transfer.headers)
    }

    private func withBlob<T>(_ data: Data?, _ body: (UnsafeMutableRawPointer?) throws -> T) rethrows -> T {
        guard let data else { return try body(nil) }
        var copy = [UInt8](data)
        return try copy.withUnsafeMutableBytes { bytes in
            var blob = curl_blob(data: bytes.baseAddress, len: bytes.count, flags: 1 /* CURL_BLOB_COPY */)
            return try withUnsafeMutablePointer(to: &blob) { try body(UnsafeMutableRawPointer($0)) }
        }
    }
}

