import Crypto
import Foundation

/// SHA-256 in hex (swift-crypto): stable identifiers from short strings (a
/// grove's path, an agent's name) and content hashes for trust records.
enum Digest {
    static func sha256Hex(_ data: Data, characters: Int = 64) -> String {
        String(SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined().prefix(characters))
    }

    static func sha256Hex(_ text: String, characters: Int = 64) -> String {
        sha256Hex(Data(text.utf8), characters: characters)
    }
}
