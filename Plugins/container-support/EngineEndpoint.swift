import Foundation
import ScionPluginKit

/// Where an engine's HTTP API listens: `unix:///var/run/docker.sock`,
/// `tcp://host:2375` or `http://host:2375` (plain HTTP; TLS is not supported).
public struct EngineEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// As written (`unix:///var/run/docker.sock`).
    public let address: String
    /// The socket to connect to, for unix endpoints.
    public let socketPath: String?
    /// What request URLs start with (`http://localhost` for a socket).
    public let baseURL: String

    public init(_ address: String) throws {
        self.address = address
        if address.hasPrefix("unix://") {
            let path = String(address.dropFirst("unix://".count))
            guard path.hasPrefix("/") else {
                throw PluginError(.invalidArgument, "engine address \(address) must name an absolute socket path (unix:///path)")
            }
            socketPath = path
            baseURL = "http://localhost"
        } else if address.hasPrefix("/") {
            socketPath = address
            baseURL = "http://localhost"
        } else if address.hasPrefix("tcp://") || address.hasPrefix("http://") {
            let rest = address.drop { $0 != ":" }.dropFirst(3)
            let hostPort = String(rest.prefix { $0 != "/" })
            guard !hostPort.isEmpty else {
                throw PluginError(.invalidArgument, "engine address \(address) names no host")
            }
            socketPath = nil
            baseURL = "http://" + hostPort
        } else {
            throw PluginError(
                .invalidArgument,
                "engine address \(address) is not supported: use unix:///path/to.sock or tcp://host:port (TLS endpoints are not supported)")
        }
    }

    public var isLocal: Bool {
        socketPath != nil || baseURL.hasPrefix("http://localhost") || baseURL.hasPrefix("http://127.0.0.1")
    }

    public var description: String { address }
}

/// Percent-encoding for URL paths and query values.
public enum URLText {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    public static func encode(_ text: String, keeping extra: String = "") -> String {
        let keep = unreserved.union(extra.utf8)
        var result = ""
        for byte in text.utf8 {
            if keep.contains(byte) {
                result.append(Character(Unicode.Scalar(byte)))
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    public static func query(_ items: [(String, String)]) -> String {
        items.isEmpty ? "" : "?" + items.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
