import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import NIOCore
import NIOSSL

/// kube-test-cluster --state DIR
///
/// A Kubernetes API server for the tests whose pods are real docker containers.
/// DIR holds everything: the certificates made by scripts/kube-test-cluster.sh (ca.crt,
/// server.crt, server.key, cert-user.crt), and what the server writes: tokens.json, port,
/// kubeconfig, exec-credential.sh, state.json (the objects, kept across restarts), ready.

struct KubeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kube-test-cluster: \(message)\n".utf8))
    exit(2)
}

func randomToken() -> String {
    (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
}

func write(_ path: String, _ text: String, mode: Int = 0o600) {
    let tmp = path + ".tmp"
    FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
    _ = rename(tmp, path)
}

var arguments = CommandLine.arguments.dropFirst()
var stateDirectory = ProcessInfo.processInfo.environment["KUBE_TEST_CLUSTER_DIR"] ?? ""
var capacity = Kubelet.Capacity(milliCPU: 4000, memory: 8 << 30, pods: 110)
while let arg = arguments.popFirst() {
    switch arg {
    case "--state": stateDirectory = arguments.popFirst() ?? ""
    case "--node-cpu": capacity.milliCPU = arguments.popFirst().flatMap(Quantity.milliCPU) ?? capacity.milliCPU
    case "--node-memory": capacity.memory = arguments.popFirst().flatMap(Quantity.bytes) ?? capacity.memory
    case "--node-pods": capacity.pods = arguments.popFirst().flatMap { Int($0) } ?? capacity.pods
    default: fail("unknown argument \(arg); usage: kube-test-cluster --state DIR [--node-cpu 4] [--node-memory 8Gi] [--node-pods 110]")
    }
}
guard !stateDirectory.isEmpty else { fail("missing --state DIR") }
let dir = stateDirectory
let fm = FileManager.default

// Identity and credentials, made once and kept across restarts.
let clusterID: String = {
    if let id = try? String(contentsOfFile: dir + "/cluster-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty { return id }
    let id = String(randomToken().prefix(12))
    write(dir + "/cluster-id", id + "\n", mode: 0o644)
    return id
}()
let tokensPath = dir + "/tokens.json"
var tokenFile = (fm.contents(atPath: tokensPath).flatMap { try? JSON.parse($0) }) ?? [:]
for key in ["admin", "restricted", "execSeed"] where tokenFile[key]?.string == nil { tokenFile[key] = .string(randomToken()) }
write(tokensPath, String(decoding: tokenFile.serialized(), as: UTF8.self))
let adminToken = tokenFile["admin"]!.string!, restrictedToken = tokenFile["restricted"]!.string!, execSeed = tokenFile["execSeed"]!.string!
write(dir + "/exec-seed", execSeed + "\n")
if !fm.fileExists(atPath: dir + "/exec-token-ttl") { write(dir + "/exec-token-ttl", "600\n", mode: 0o644) }
write(dir + "/exec-credential.sh", """
    #!/bin/sh
    # The exec-credential plugin of the kubeconfig's exec-user: prints a
    # client.authentication.k8s.io/v1 ExecCredential whose token expires after
    # the seconds in exec-token-ttl (tests shorten it to see a refresh).
    dir=$(dirname "$0")
    ttl=$(cat "$dir/exec-token-ttl" 2>/dev/null || echo 600)
    exp=$(( $(date +%s) + ttl ))
    sig=$(printf '%s:%s' "$(cat "$dir/exec-seed")" "$exp" | sha256sum | cut -c1-64)
    date +%s >> "$dir/exec-credential.calls"
    printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s-%s","expirationTimestamp":"%s"}}\\n' \\
        "$exp" "$sig" "$(date -u -d "@$exp" +%Y-%m-%dT%H:%M:%SZ)"

    """, mode: 0o700)

var certificates: [[UInt8]: User] = [:]
if let cert = try? NIOSSLCertificate.fromPEMFile(dir + "/cert-user.crt").first, let der = try? cert.toDERBytes() {
    certificates[der] = User(name: "cert-user", groups: ["system:authenticated"], denied: [])
}
let authenticator = Authenticator(
    tokens: [
        adminToken: User(name: "admin", groups: ["system:masters", "system:authenticated"], denied: []),
        restrictedToken: User(name: "restricted", groups: ["system:authenticated"], denied: ["create secrets", "update secrets", "patch secrets", "delete secrets", "deletecollection secrets"]),
    ],
    certificates: certificates, execSeed: execSeed)

let store = Store(persistPath: dir + "/state.json")
let kubelet = Kubelet(store: store, clusterID: clusterID, stateDirectory: dir, capacity: capacity)
let cluster = Cluster(store: store, kubelet: kubelet, authenticator: authenticator)

// A new cluster has the usual namespaces and one node.
if await store.get("namespaces", "", "default") == nil {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        _ = try? await cluster.create("namespaces", "", ["metadata": ["name": .string(ns)]])
    }
    let cpu = String(capacity.milliCPU) + "m", memory = String(capacity.memory / 1024) + "Ki", pods = String(capacity.pods)
    _ = try? await store.create("nodes", "", [
        "metadata": ["name": .string(Kubelet.nodeName), "labels": ["kubernetes.io/hostname": .string(Kubelet.nodeName), "kubernetes.io/os": "linux"]],
        "status": [
            "capacity": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(pods)],
            "allocatable": ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(pods)],
            "conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"]],
            "nodeInfo": ["kubeletVersion": "v1.32.0-scion-test", "containerRuntimeVersion": "docker", "operatingSystem": "linux", "architecture": "amd64"],
        ],
    ])
}
await kubelet.watchExits()
await store.addListener { event in
    if event.resource == "pods", event.type == "ADDED" { Task { await kubelet.podAdded(event.object) } }
}
for pod in await store.list("pods", namespace: nil).items { await kubelet.podAdded(pod) }

// TLS: the server certificate from the CA made at `up`; client certificates are optional.
let tls: TLSConfiguration
do {
    let chain = try NIOSSLCertificate.fromPEMFile(dir + "/server.crt").map { NIOSSLCertificateSource.certificate($0) }
    let key = try NIOSSLPrivateKey(file: dir + "/server.key", format: .pem)
    var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
    config.certificateVerification = .optionalVerification
    config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dir + "/ca.crt"))
    tls = config
} catch {
    fail("cannot load the certificates in \(dir) (\(error)); run scripts/kube-test-cluster.sh up, which makes them")
}

@Sendable func authenticate(_ headers: HTTPFields, _ channel: any Channel) async -> User? {
    if let value = headers[.authorization], value.hasPrefix("Bearer ") {
        return authenticator.user(token: String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces))
    }
    if let cert = try? await channel.nioSSL_peerCertificate().get(), let der = try? cert.toDERBytes() {
        return authenticator.user(certificateDER: der)
    }
    return nil
}

let responder = CallbackResponder<KubeRequestContext> { request, context in
    let user = await authenticate(request.headers, context.channel)
    return await cluster.respond(request, user: user)
}

/// True when 127.0.0.1:port can be bound now.
func portIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

// A restart keeps its port (clients keep their kubeconfig) unless something else took it.
let savedPort = (try? String(contentsOfFile: dir + "/port", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
let port = savedPort != 0 && portIsFree(savedPort) ? savedPort : 0
let server: HTTPServerBuilder
do {
    server = try .tls(
        .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 16 << 20, autoPing: .enabled(timePeriod: .seconds(30))))) { head, channel, _ in
            let target = Target(head.path ?? "/")
            guard let path = ResourcePath(target.segments), path.resource == "pods", let name = path.name,
                  path.subresource == "exec" || path.subresource == "attach", let ns = path.namespace else { return .dontUpgrade }
            let offered = (head.headerFields[values: .secWebSocketProtocol]).flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            guard let chosen = Cluster.execProtocols.first(where: offered.contains) else { return .dontUpgrade }
            // NIO answers a refused upgrade with an empty 400, so a refusal is sent the way a
            // stream error is: a Status on the error channel, then close.
            let outcome: Result<ExecRequest, APIError>
            if let user = await authenticate(head.headerFields, channel) {
                let sub = path.subresource!
                if !(user.may("create", "pods/" + sub) && user.may("get", "pods/" + sub)) {
                    outcome = .failure(cluster.forbidden(user, "create", "pods/" + sub, ns, name: name))
                } else if let injected = cluster.faults.injectedError(path: target.path) {
                    outcome = .failure(injected)
                } else {
                    do { outcome = .success(try await cluster.execTarget(ns, name, target)) } catch let e as APIError { outcome = .failure(e) } catch {
                        outcome = .failure(APIError(code: 500, reason: "InternalError", message: "\(error)"))
                    }
                }
            } else {
                outcome = .failure(APIError(code: 401, reason: "Unauthorized", message: "Unauthorized"))
            }
            return .upgrade([.secWebSocketProtocol: chosen]) { inbound, outbound, _ in
                switch outcome {
                case .success(let exec):
                    await cluster.runExec(exec, protocolName: chosen, inbound: inbound, outbound: outbound)
                case .failure(let error):
                    var buffer = ByteBuffer()
                    buffer.writeInteger(UInt8(3))
                    buffer.writeBytes(error.status.serialized())
                    try? await outbound.write(.binary(buffer))
                    try? await outbound.close(.normalClosure, reason: nil)
                }
            }
        },
        tlsConfiguration: tls)
} catch {
    fail("cannot set up TLS: \(error)")
}

let kubeconfigPath = dir + "/kubeconfig"
let caData = (fm.contents(atPath: dir + "/ca.crt") ?? Data()).base64EncodedString()
let app = Application(
    responder: responder,
    server: server,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "kube-test-cluster"),
    onServerRunning: { channel in
        let bound = channel.localAddress?.port ?? port
        write(dir + "/port", "\(bound)\n", mode: 0o644)
        func context(_ name: String, _ user: String) -> String {
            "- name: \(name)\n  context:\n    cluster: scion-test\n    user: \(user)\n    namespace: default\n"
        }
        write(kubeconfigPath, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: scion-test
              cluster:
                server: https://127.0.0.1:\(bound)
                certificate-authority-data: \(caData)
            users:
            - name: admin
              user:
                token: \(adminToken)
            - name: restricted
              user:
                token: \(restrictedToken)
            - name: cert-user
              user:
                client-certificate: \(dir)/cert-user.crt
                client-key: \(dir)/cert-user.key
            - name: exec-user
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: \(dir)/exec-credential.sh
                  interactiveMode: Never
            contexts:
            \(context("scion-test", "admin"))\(context("scion-test-restricted", "restricted"))\(context("scion-test-cert", "cert-user"))\(context("scion-test-exec", "exec-user"))current-context: scion-test

            """)
        write(dir + "/ready", "\(getpid())\n", mode: 0o644)
    }
)
signal(SIGPIPE, SIG_IGN)
do {
    try await app.runService()
} catch {
    fail("server stopped: \(error)")
}
await store.persist()
