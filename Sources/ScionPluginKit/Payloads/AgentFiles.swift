import Foundation

/// `read_agent_file` / `write_agent_file`: a file of the agent's home, for
/// runtimes that do not share the host's paths (capability
/// `shares_host_paths: false`). `path` is relative to the agent's home and
/// never leads out of it; `data` is base64 (binary-safe).
public struct AgentFileRequest: Codable, Sendable, Equatable {
    public var schemaVersion: Int = 1
    public var name: String
    public var handle: String
    public var runtimeConfig: [String: JSONValue]?
    /// The agent's home as the host knows it (the run spec's `home`).
    public var home: String?
    public var path: String
    /// Read from this byte offset (read only).
    public var offset: UInt64?
    /// What to write (write only).
    public var data: Data?
    /// Append instead of replacing (write only).
    public var append: Bool?
    /// Read only: when the file is no longer than `offset`, wait up to this
    /// many seconds for it to grow before answering (a long poll: the grove
    /// broker follows a remote agent's events this way). A runtime that
    /// cannot wait answers at once, as without it.
    public var waitSeconds: Int?

    public init(target: AgentTarget, path: String, offset: UInt64? = nil, data: Data? = nil, append: Bool? = nil) {
        self.name = target.name
        self.handle = target.handle
        self.runtimeConfig = target.runtimeConfig
        self.home = target.home
        self.path = path
        self.offset = offset
        self.data = data
        self.append = append
    }

    /// A read that waits up to `waitSeconds` for the file to grow past `offset`.
    public init(target: AgentTarget, path: String, offset: UInt64, waitSeconds: Int) {
        self.init(target: target, path: path, offset: offset)
        self.waitSeconds = waitSeconds
    }

    /// The path, checked: relative, without `..` or empty components.
    public func checkedPath() throws -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw PluginError(.invalidArgument, "agent file path \"\(path)\" must be relative to the agent's home, without . or .. parts")
        }
        return path
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", name, handle, runtimeConfig = "runtime_config", home, path, offset, data, append
        case waitSeconds = "wait_seconds"
    }
}

/// The answer to `read_agent_file`.
public struct AgentFileContents: Codable, Sendable, Equatable {
    public var schemaVersion: Int = 1
    public var exists: Bool
    /// The bytes from the requested offset to the end.
    public var data: Data
    /// The whole file's size.
    public var size: UInt64

    public init(exists: Bool, data: Data = Data(), size: UInt64 = 0) {
        self.exists = exists
        self.data = data
        self.size = size
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", exists, data, size
    }
}

extension RuntimePlugin {
    public func readAgentFile(_ request: AgentFileRequest) throws -> AgentFileContents {
        throw PluginError(.unsupported, "the \(description.name) runtime shares the host's paths; the host reads agent files itself")
    }

    public func writeAgentFile(_ request: AgentFileRequest) throws {
        throw PluginError(.unsupported, "the \(description.name) runtime shares the host's paths; the host writes agent files itself")
    }
}
