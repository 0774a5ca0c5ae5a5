import Foundation
import ScionPluginKit

/// One agent's pod (and its Secret) built from a run spec: the same spec
/// the container runtimes get. The agent container is always named
/// `agent` and addressed by name, so pods with injected sidecars work.
/// Secret values are never in the pod: the Secret holds them and the pod
/// references it with `secretKeyRef`.
public struct PodPlan: @unchecked Sendable {
    public static let containerName = "agent"
    /// Annotation holding the spec's labels exactly (label values are limited
    /// to 63 characters of a small alphabet; paths are not label values).
    public static let labelsAnnotation = "scion.dev/labels"
    /// Annotation holding the run spec's name (`<grove>--<agent>`), which a
    /// pod name may not be able to hold as it is.
    public static let nameAnnotation = "scion.dev/name"
    /// Label naming one `run`, so a failed start deletes only what it made.
    public static let startLabel = "scion.start"
    /// Relative to HOME: created (through exec) once the workspace and home
    /// have arrived; the pod's command waits for it before starting tmux.
    public static let workspaceReadyPath = ".scion/workspace-ready"
    /// Relative to HOME: where read-only files mounted into containers (the
    /// scion-agent helper) are copied instead; it is put first on PATH.
    public static let toolsPath = ".scion/bin"
    /// The uid an agent runs as when the host user is root (pods run as non-root).
    public static let defaultUID: UInt32 = 1000

    /// Runtime options (`runtimes.<name>`) the pod reads.
    public enum Option {
        public static let runAsUser = AgentUser.optionKey
        public static let serviceAccount = "service_account"
        public static let imagePullPolicy = "image_pull_policy"
        public static let startTimeout = "start_timeout"
    }

    public var podName: String
    public var secretName: String?
    public var image: String
    public var pod: [String: Any]
    public var secret: [String: Any]?
    /// Read-only single files the containers would have mounted (source, file name in toolsPath).
    public var tools: [(source: String, name: String)]
    public var uid: UInt32
    /// runAsGroup and fsGroup: the gid of `run_as_user: "uid:gid"`, else the uid.
    public var gid: UInt32

    public init(spec: RunSpec, startID: String) throws {
        guard let image = spec.image?.trimmingCharacters(in: .whitespaces), !image.isEmpty else {
            throw PluginError(
                .invalidArgument,
                "the kubernetes runtime needs an image for agent \(spec.agent): set `image` in the harness config or profile (see docs/images.md)")
        }
        guard !spec.command.isEmpty else { throw PluginError(.invalidArgument, "the run spec for agent \(spec.agent) has no command") }
        for (what, path) in [("workdir", spec.workdir), ("home", spec.home)] where !path.hasPrefix("/") {
            throw PluginError(.invalidArgument, "the run spec's \(what) must be an absolute path, not \"\(path)\"")
        }
        self.image = image
        podName = Self.objectName(spec.name)
        let options = spec.runtimeConfig
        if let text = options[Option.runAsUser]?.stringValue, !text.isEmpty {
            guard let ids = AgentUser.parse(text), ids.uid != 0 else {
                throw PluginError(.invalidArgument, "runtimes.<name>.run_as_user must be a non-zero uid or uid:gid, not \(text): agent pods run as non-root")
            }
            (uid, gid) = ids
        } else if let user = spec.user, user.uid != 0 {
            uid = user.uid
            gid = user.uid
        } else {
            uid = Self.defaultUID
            gid = Self.defaultUID
        }

        var labels = spec.labels.filter { Self.isLabelKey($0.key) && Self.isLabelValue($0.value) }
        labels[Self.startLabel] = startID
        let annotations = [
            Self.labelsAnnotation: String(decoding: try JSONSerialization.data(withJSONObject: spec.labels, options: [.sortedKeys]), as: UTF8.self),
            Self.nameAnnotation: spec.name,
        ]

        tools = spec.mounts.compactMap { mount in
            var isDirectory: ObjCBool = false
            guard mount.readOnly, FileManager.default.fileExists(atPath: mount.source, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
            return (mount.source, (mount.target as NSString).lastPathComponent)
        }

        var env = spec.env
        env["HOME"] = spec.home
        env["TERM"] = env["TERM"] ?? "xterm-256color"
        if let user = spec.user, !user.name.isEmpty {
            env["USER"] = env["USER"] ?? user.name
            env["LOGNAME"] = env["LOGNAME"] ?? user.name
        }
        let basePath = env["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["PATH"] = spec.home + "/" + Self.toolsPath + ":" + basePath
        for key in env.keys where key.isEmpty || key.contains("=") || key.contains("\0") {
            throw PluginError(.invalidArgument, "environment variable name \"\(key)\" is not valid")
        }
        let secretKeys = Set(spec.secretEnv).intersection(env.keys)
        let secretName = secretKeys.isEmpty ? nil : podName + "-env"
        self.secretName = secretName
        var envList: [[String: Any]] = []
        for key in env.keys.sorted() {
            if let secretName, secretKeys.contains(key) {
                envList.append(["name": key, "valueFrom": ["secretKeyRef": ["name": secretName, "key": Self.secretKey(key)]]])
            } else {
                envList.append(["name": key, "value": env[key]!])
            }
        }
        if let secretName {
            var data: [String: String] = [:]
            for key in secretKeys { data[Self.secretKey(key)] = Data(env[key]!.utf8).base64EncodedString() }
            secret = [
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": ["name": secretName, "labels": labels, "annotations": annotations],
                "data": data,
            ]
        }

        var resources: [String: Any] = [:]
        var limits: [String: String] = [:]
        if let memory = spec.resources.memory, !memory.isEmpty { limits["memory"] = try Self.quantity(memory: memory) }
        if let cpus = spec.resources.cpus, !cpus.isEmpty {
            guard let value = Double(cpus), value > 0 else { throw PluginError(.invalidArgument, "resources.cpus must be a positive number, not \(cpus)") }
            limits["cpu"] = "\(Int((value * 1000).rounded()))m"
        }
        if !limits.isEmpty {
            resources["limits"] = limits
            resources["requests"] = limits
        }

        var container: [String: Any] = [
            "name": Self.containerName,
            "image": image,
            "command": Self.podCommand(spec),
            "workingDir": spec.workdir,
            "env": envList,
            "volumeMounts": [["name": "home", "mountPath": spec.home], ["name": "workspace", "mountPath": spec.workdir]],
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": Int(uid), "runAsGroup": Int(gid), "allowPrivilegeEscalation": false,
                "capabilities": ["drop": ["ALL"]],
            ],
        ]
        if !resources.isEmpty { container["resources"] = resources }
        if let policy = options[Option.imagePullPolicy]?.stringValue, !policy.isEmpty { container["imagePullPolicy"] = policy }
        var podSpec: [String: Any] = [
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [["name": "home", "emptyDir": [String: Any]()], ["name": "workspace", "emptyDir": [String: Any]()]],
            "securityContext": ["runAsNonRoot": true, "runAsUser": Int(uid), "fsGroup": Int(gid)],
            "terminationGracePeriodSeconds": 10,
            "automountServiceAccountToken": false,
        ]
        if let account = options[Option.serviceAccount]?.stringValue, !account.isEmpty { podSpec["serviceAccountName"] = account }
        pod = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": podName, "labels": labels, "annotations": annotations],
            "spec": podSpec,
        ]
    }

    /// The pod's command: wait for the workspace to arrive, start the tmux
    /// session detached (no TTY needed), mark it ready, and live as long as
    /// the session does. Fixed text; the harness argv is in the home's
    /// launch files (see HarnessLaunch), never in the pod spec.
    static func podCommand(_ spec: RunSpec) -> [String] {
        let tmux = ["tmux", "-f", spec.session.configFile ?? "/dev/null"]
            + Tmux.newSession(spec.session, workdir: spec.workdir, detached: true)
        // The agent window's log is also the container's output, so the
        // pod log API (`kubectl logs`, `scion logs`) shows the agent.
        // PID 1 ignores SIGTERM unless it traps it: end the session at once on pod deletion.
        let script = "trap 'tmux kill-server 2>/dev/null; exit 0' TERM; "
            + "while [ ! -e \"$HOME/\(workspaceReadyPath)\" ]; do sleep 0.1; done; "
            + "\"$@\" || exit 1; touch \"$HOME/\(readyPath)\"; "
            + "tail -n +1 -F \"$HOME/\(Tmux.logPath)\" 2>/dev/null & t=$!; "
            + "while tmux has-session -t \(spec.session.session) 2>/dev/null; do sleep 1; done; sleep 1; kill $t"
        return ["sh", "-c", script, "scion-session"] + tmux
    }

    /// Relative to HOME: written once the session is up.
    public static let readyPath = ".scion/session-ready"

    /// A DNS-1123 name of at most 63 characters: lowercase, digits and "-";
    /// a name that had to change gets a short hash so two never collide.
    public static func objectName(_ name: String) -> String {
        var cleaned = String(name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        while cleaned.hasPrefix("-") { cleaned.removeFirst() }
        while cleaned.hasSuffix("-") { cleaned.removeLast() }
        if cleaned == name && cleaned.count <= 63 && !cleaned.isEmpty { return cleaned }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let suffix = String(String(hash, radix: 36).prefix(8))
        let head = cleaned.prefix(63 - suffix.count - 1)
        return (head.isEmpty ? "scion" : String(head).trimmingCharacters(in: CharacterSet(charactersIn: "-"))) + "-" + suffix
    }

    static func isLabelValue(_ value: String) -> Bool {
        guard value.count <= 63 else { return false }
        if value.isEmpty { return true }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard value.allSatisfy(allowed.contains) else { return false }
        return value.first!.isLetter || value.first!.isNumber ? (value.last!.isLetter || value.last!.isNumber) : false
    }

    static func isLabelKey(_ key: String) -> Bool {
        let name = key.split(separator: "/").last.map(String.init) ?? key
        return !name.isEmpty && isLabelValue(name) && key.split(separator: "/").count <= 2
    }

    /// Secret data keys allow [-._a-zA-Z0-9]; env names fit.
    static func secretKey(_ name: String) -> String { name }

    /// "2g" -> "2Gi", "512m" -> "512Mi", a plain number is bytes.
    static func quantity(memory: String) throws -> String {
        let text = memory.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, String)] = [("gb", "Gi"), ("g", "Gi"), ("mb", "Mi"), ("m", "Mi"), ("kb", "Ki"), ("k", "Ki"), ("b", "")]
        for (suffix, unit) in units where text.hasSuffix(suffix) {
            let number = String(text.dropLast(suffix.count))
            guard let value = Double(number), value > 0 else { break }
            return value == value.rounded() ? "\(Int(value))\(unit)" : "\(Int((value * 1024).rounded()))\(unit == "Gi" ? "Mi" : unit == "Mi" ? "Ki" : "")"
        }
        if let bytes = Int(text), bytes > 0 { return String(bytes) }
        throw PluginError(.invalidArgument, "resources.memory must be a size such as 512m or 2g, not \(memory)")
    }

    /// The request body for `POST .../pods`.
    public var podJSON: Data { (try? JSONSerialization.data(withJSONObject: pod, options: [.sortedKeys])) ?? Data() }
    public var secretJSON: Data? { secret.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } }
}
