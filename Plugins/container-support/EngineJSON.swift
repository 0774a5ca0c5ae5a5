import Foundation

/// Container state as engines print it: Docker's Engine API (v1.41) and
/// podman's `inspect` / `ps --format json` use the same field names.
public enum EngineJSON {
    public struct IDResponse: Decodable {
        public var id: String
        enum CodingKeys: String, CodingKey { case id = "Id" }
    }

    public struct ContainerInspect: Decodable {
        public struct State: Decodable {
            public var status: String?
            public var running: Bool?
            public var exitCode: Int?
            public var error: String?
            enum CodingKeys: String, CodingKey {
                case status = "Status", running = "Running", exitCode = "ExitCode", error = "Error"
            }
        }

        public struct Config: Decodable {
            public var labels: [String: String]?
            enum CodingKeys: String, CodingKey { case labels = "Labels" }
        }

        public var id: String
        public var name: String?
        public var state: State?
        public var config: Config?

        enum CodingKeys: String, CodingKey {
            case id = "Id", name = "Name", state = "State", config = "Config"
        }

        public var containerState: ContainerState {
            let status = state?.status ?? (state?.running == true ? "running" : "unknown")
            let finished = ["exited", "dead", "stopped"].contains(status.lowercased())
            return ContainerState(
                id: id, name: name ?? id, status: status, exitCode: finished ? state?.exitCode : nil,
                labels: config?.labels ?? [:], error: state?.error)
        }
    }

    /// An entry of GET /containers/json (docker) or `podman ps --format json`.
    public struct ContainerSummary: Decodable {
        public var id: String
        public var names: [String]?
        public var state: String?
        public var labels: [String: String]?
        /// podman only.
        public var exitCode: Int?

        enum CodingKeys: String, CodingKey {
            case id = "Id", names = "Names", state = "State", labels = "Labels", exitCode = "ExitCode"
        }

        public var containerState: ContainerState {
            let status = state ?? "unknown"
            let finished = ["exited", "dead", "stopped"].contains(status.lowercased())
            return ContainerState(
                id: id, name: names?.first ?? id, status: status, exitCode: finished ? exitCode : nil,
                labels: labels ?? [:])
        }
    }
}
