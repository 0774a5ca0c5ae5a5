import Crypto
import Foundation

/// SHA-256 in hex (swift-crypto): stable identifiers from short strings (a
/// grove's path, an agent's name) and content hashes for trust records.
enum Digest {
    static func sha256Hex(_ data: Data, characters: Int = 64) -> String {
        // Hex by table: `String(format:)` per byte cost `list` 5% of its CPU.
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: data) {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: hex.prefix(characters), as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func sha256Hex(_ text: String, characters: Int = 64) -> String {
        sha256Hex(Data(text.utf8), characters: characters)
    }
}
