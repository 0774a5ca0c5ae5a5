import Crypto
import Foundation

/// Who a request comes from, and what that user may do.
struct User: Sendable {
    let name: String
    let groups: [String]
    /// "verb resource" pairs this user is refused (a tiny RBAC).
    let denied: Set<String>

    func may(_ verb: String, _ resource: String) -> Bool {
        !denied.contains("\(verb) \(resource)") && !denied.contains("* \(resource)")
    }
}

/// Bearer tokens, client certificates and the expiring exec-credential tokens.
struct Authenticator: Sendable {
    /// token -> user
    let tokens: [String: User]
    /// DER bytes of a client certificate -> user
    let certificates: [[UInt8]: User]
    /// Secret the exec-credential script signs its tokens with.
    let execSeed: String

    static let execUser = User(name: "exec-user", groups: ["system:authenticated"], denied: [])

    /// The user for a bearer token, nil when it is unknown or expired.
    func user(token: String, now: Date = Date()) -> User? {
        if let user = tokens[token] { return user }
        // exec-<expiry>-<sha256(seed:expiry)>
        let parts = token.split(separator: "-")
        guard parts.count == 3, parts[0] == "exec", let expiry = TimeInterval(parts[1]) else { return nil }
        let digest = SHA256.hash(data: Data("\(execSeed):\(parts[1])".utf8)).map { String(format: "%02x", $0) }.joined()
        guard digest == parts[2], expiry > now.timeIntervalSince1970 else { return nil }
        return Authenticator.execUser
    }

    func user(certificateDER: [UInt8]) -> User? { certificates[certificateDER] }
}
