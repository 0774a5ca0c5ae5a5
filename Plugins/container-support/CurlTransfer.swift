import CCurl
import Foundation

/// Why `ccurl_easy_init` gave no handle: libcurl could not be loaded (the
/// loader's message), or curl refused.
public func curlStartFailureReason() -> String {
    guard let error = ccurl_load_error() else { return "libcurl could not start a transfer" }
    return "libcurl could not be loaded (\(String(cString: error))); install the libcurl4 package"
}

/// The state of one libcurl transfer of the engine and Kubernetes clients,
/// reached from libcurl's callbacks: the status, the body (or, for a
/// successful response with `onData`, each piece handed over as it comes),
/// the response headers, and a cancellation polled while it waits.
public final class CurlTransfer {
    public private(set) var status = 0
    public private(set) var body = Data()
    /// Lowercased names; the last response's (after a redirect or a 100).
    public private(set) var headers: [String: String] = [:]
    /// True when `onData` or `isCancelled` ended the transfer.
    public private(set) var stoppedByCaller = false
    fileprivate var curl: UnsafeMutableRawPointer?
    fileprivate let onData: ((Data) -> Bool)?
    fileprivate let isCancelled: (() -> Bool)?

    public init(onData: ((Data) -> Bool)?, isCancelled: (() -> Bool)? = nil) {
        self.onData = onData
        self.isCancelled = isCancelled
    }

    /// Sets the callbacks on `curl`; the transfer must outlive `curl_easy_perform`.
    public func attach(to curl: UnsafeMutableRawPointer) {
        self.curl = curl
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_setopt_data_fn(curl, CURLOPT_WRITEFUNCTION, curlWriteBody)
        _ = ccurl_setopt_pointer(curl, CURLOPT_WRITEDATA, context)
        _ = ccurl_setopt_data_fn(curl, CURLOPT_HEADERFUNCTION, curlWriteHeader)
        _ = ccurl_setopt_pointer(curl, CURLOPT_HEADERDATA, context)
        if isCancelled != nil {
            _ = ccurl_setopt_long(curl, CURLOPT_NOPROGRESS, 0)
            _ = ccurl_setopt_pointer(curl, CURLOPT_XFERINFOFUNCTION, unsafeBitCast(curlProgress, to: UnsafeMutableRawPointer.self))
            _ = ccurl_setopt_pointer(curl, CURLOPT_XFERINFODATA, context)
        }
    }

    /// After `curl_easy_perform`: the final status.
    public func finish() {
        if let curl { status = Int(ccurl_response_code(curl)) }
    }

    fileprivate static func from(_ context: UnsafeMutableRawPointer) -> CurlTransfer {
        Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    }

    fileprivate func received(_ data: Data) -> Bool {
        if status == 0, let curl { status = Int(ccurl_response_code(curl)) }
        if let onData, (200..<300).contains(status) {
            guard onData(data) else {
                stoppedByCaller = true
                return false
            }
        } else {
            body.append(data)
        }
        return true
    }

    fileprivate func receivedHeader(_ line: String) {
        if line.hasPrefix("HTTP/") { headers = [:] }
        if let colon = line.firstIndex(of: ":") {
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    fileprivate func shouldStop() -> Bool {
        guard isCancelled?() == true else { return false }
        stoppedByCaller = true
        return true
    }
}

private let curlWriteBody: ccurl_data_fn = { buffer, size, count, context in
    guard let context else { return 0 }
    let length = size * count
    guard length > 0, let buffer else { return length }
    return CurlTransfer.from(context).received(Data(bytes: buffer, count: length)) ? length : 0
}

private let curlWriteHeader: ccurl_data_fn = { buffer, size, count, context in
    guard let context, let buffer else { return size * count }
    CurlTransfer.from(context).receivedHeader(
        String(decoding: UnsafeRawBufferPointer(start: buffer, count: size * count), as: UTF8.self))
    return size * count
}

private let curlProgress: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
    context, _, _, _, _ in
    guard let context else { return 0 }
    return CurlTransfer.from(context).shouldStop() ? 1 : 0
}
