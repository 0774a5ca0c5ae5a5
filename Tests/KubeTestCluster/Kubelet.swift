import Foundation

/// Parses a Kubernetes quantity: cpu in millicores ("500m", "2"), memory in bytes ("128Mi", "1G").
enum Quantity {
    static func milliCPU(_ text: String) -> Int64? {
        if text.hasSuffix("m") { return Int64(text.dropLast()) }
        return Double(text).map { Int64(($0 * 1000).rounded()) }
    }

    static func bytes(_ text: String) -> Int64? {
        let units: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1048576), ("Gi", 1073741824), ("Ti", 1099511627776),
            ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { Int64($0 * factor) }
        }
        return Double(text).map { Int64($0) }
    }
}

/// A kubelet of sorts: every pod becomes real docker containers, driven with the docker
/// CLI (argv arrays). Containers carry the label `scion.kube-test-cluster=<cluster id>`
/// so `down` removes exactly its own.
actor Kubelet {
    static let clusterLabel = "scion.kube-test-cluster"
    static let nodeName = "scion-test-node"

    struct Capacity: Sendable {
        var milliCPU: Int64
        var memory: Int64
        var pods: Int
    }

    let store: Store
    let clusterID: String
    let stateDirectory: String
    let capacity: Capacity
    let events: EventRecorder
    /// Pods being deleted (uid), so their container exits are not taken for failures.
    private var terminating: Set<String> = []
    /// Pods started or starting (uid).
    private var started: Set<String> = []

    /// What the kubelet knows of an image: `docker image inspect` once per image, not per pod.
    struct ImageInfo: Sendable {
        let id: String
        let user: String
    }
    /// Images found, kept for `imageCacheSeconds` (an image rebuilt under the same tag is seen
    /// again soon); lookups in flight are shared by the pods that wait for them.
    private var images: [String: (info: ImageInfo, at: ContinuousClock.Instant)] = [:]
    private var imageLookups: [String: Task<ImageInfo?, Never>] = [:]
    static let imageCacheSeconds = 30

    /// At most this many `docker run` at once (a docker CLI each). On the 2-core machine 4
    /// left the engine idle (16 s for 50 pods against 7.7 s for the engine alone), 16 and 32
    /// gave the same 12-13 s.
    static let parallelStarts = 16
    private var startsRunning = 0
    private var startQueue: [CheckedContinuation<Void, Never>] = []

    /// Container exits, from one `docker events` stream for the node (no `docker wait` process
    /// per container): the waiter of each container's next exit, and exits nobody waited for yet.
    private var exitWaiters: [String: CheckedContinuation<Int64, Never>] = [:]
    private var exits: [String: Int64] = [:]

    init(store: Store, clusterID: String, stateDirectory: String, capacity: Capacity) {
        self.store = store
        self.clusterID = clusterID
        self.stateDirectory = stateDirectory
        self.capacity = capacity
        self.events = EventRecorder(store: store)
    }

    nonisolated func dockerName(_ pod: JSON, _ container: String) -> String {
        let ns = pod.at("metadata.namespace")?.string ?? "default"
        let name = pod.at("metadata.name")?.string ?? ""
        let uid = pod.at("metadata.uid")?.string ?? ""
        return "k8s_\(container)_\(name)_\(ns)_\(uid.prefix(8))"
    }

    nonisolated func podDirectory(_ pod: JSON) -> String {
        stateDirectory + "/pods/" + (pod.at("metadata.uid")?.string ?? "unknown")
    }

    // MARK: scheduling

    private static func requests(_ pod: JSON) -> (cpu: Int64, memory: Int64) {
        var cpu: Int64 = 0, memory: Int64 = 0
        for c in pod.at("spec.containers")?.array ?? [] {
            let r = c.at("resources.requests") ?? c.at("resources.limits")
            cpu += r?["cpu"]?.string.flatMap(Quantity.milliCPU) ?? 0
            memory += r?["memory"]?.string.flatMap(Quantity.bytes) ?? 0
        }
        return (cpu, memory)
    }

    /// A new pod: schedule it on the one node, or leave it Pending as Unschedulable.
    func podAdded(_ pod: JSON) async {
        guard let uid = pod.at("metadata.uid")?.string, !started.contains(uid) else { return }
        let ns = pod.at("metadata.namespace")?.string ?? "", name = pod.at("metadata.name")?.string ?? ""
        if pod.at("spec.nodeName")?.string == Kubelet.nodeName { return await adopt(pod) }
        let wanted = Kubelet.requests(pod)
        var usedCPU: Int64 = 0, usedMemory: Int64 = 0, podCount = 0
        for other in await store.list("pods", namespace: nil).items where other.at("spec.nodeName")?.string == Kubelet.nodeName {
            let phase = other.at("status.phase")?.string
            if phase == "Succeeded" || phase == "Failed" { continue }
            let r = Kubelet.requests(other)
            usedCPU += r.cpu; usedMemory += r.memory; podCount += 1
        }
        var insufficient: [String] = []
        if usedCPU + wanted.cpu > capacity.milliCPU { insufficient.append("Insufficient cpu") }
        if usedMemory + wanted.memory > capacity.memory { insufficient.append("Insufficient memory") }
        if podCount + 1 > capacity.pods { insufficient.append("Too many pods") }
        if !insufficient.isEmpty {
            let message = "0/1 nodes are available: " + insufficient.map { "1 \($0)" }.joined(separator: ", ")
                + ". preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
            let changed = await store.update("pods", ns, name) { p in
                guard p.at("status.conditions")?.array?.first?["message"]?.string != message else { return }
                p.set("status.phase", "Pending")
                p.set("status.conditions", [[
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": .string(message), "lastTransitionTime": .string(kubeTime()), "lastProbeTime": nil,
                ]])
            }
            if changed != nil {
                await events.record(pod, type: "Warning", reason: "FailedScheduling", message: message, component: "default-scheduler")
            }
            return
        }
        started.insert(uid)
        await store.update("pods", ns, name) { p in
            p.set("spec.nodeName", .string(Kubelet.nodeName))
            p.set("status.phase", "Pending")
            p.set("status.hostIP", "127.0.0.1")
            p.set("status.qosClass", "BestEffort")
            p.set("status.conditions", [Kubelet.condition("PodScheduled", true)])
        }
        await events.record(pod, type: "Normal", reason: "Scheduled",
                            message: "Successfully assigned \(ns)/\(name) to \(Kubelet.nodeName)", component: "default-scheduler")
        Task { await self.startPod(uid: uid, namespace: ns, name: name) }
    }

    /// Pods left Unschedulable get another chance when capacity frees up.
    func rescheduleWaiting() async {
        for pod in await store.list("pods", namespace: nil).items where pod.at("spec.nodeName") == nil && pod.at("metadata.deletionTimestamp") == nil {
            await podAdded(pod)
        }
    }

    static func condition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil) -> JSON {
        var c: JSON = ["type": .string(type), "status": value ? "True" : "False", "lastTransitionTime": .string(kubeTime()), "lastProbeTime": nil]
        if let reason { c["reason"] = .string(reason) }
        if let message { c["message"] = .string(message) }
        return c
    }

    // MARK: starting

    private func current(_ ns: String, _ name: String, _ uid: String) async -> JSON? {
        guard let pod = await store.get("pods", ns, name), pod.at("metadata.uid")?.string == uid,
              pod.at("metadata.deletionTimestamp") == nil else { return nil }
        return pod
    }

    private func setWaiting(_ ns: String, _ name: String, _ containers: [JSON], reason: String, message: String) async {
        await store.update("pods", ns, name) { p in
            p.set("status.containerStatuses", .array(containers.map { c in
                ["name": c["name"] ?? "", "image": c["image"] ?? "", "imageID": "", "ready": false, "restartCount": 0, "started": false,
                 "state": ["waiting": ["reason": .string(reason), "message": .string(message)]], "lastState": [:]]
            }))
            p.set("status.conditions", [
                Kubelet.condition("PodScheduled", true), Kubelet.condition("Initialized", true),
                Kubelet.condition("ContainersReady", false, reason: "ContainersNotReady", message: "containers with unready status: [\(containers.compactMap { $0["name"]?.string }.joined(separator: " "))]"),
                Kubelet.condition("Ready", false, reason: "ContainersNotReady", message: "containers with unready status: [\(containers.compactMap { $0["name"]?.string }.joined(separator: " "))]"),
            ])
        }
    }

    private func startPod(uid: String, namespace ns: String, name: String) async {
        guard let pod = await current(ns, name, uid) else { return }
        let containers = pod.at("spec.containers")?.array ?? []
        await setWaiting(ns, name, containers, reason: "ContainerCreating", message: "")
        // Images: never pulled (no registry); a missing one is ErrImagePull, then ImagePullBackOff.
        var backoff: UInt64 = 1
        while true {
            var missing: String? = nil
            for c in containers {
                let image = c["image"]?.string ?? ""
                if await imageInfo(image) == nil { missing = image; break }
            }
            guard let image = missing else { break }
            guard await current(ns, name, uid) != nil else { return }
            let pullMessage = "Failed to pull image \"\(image)\": rpc error: code = Unknown desc = Error response from daemon: pull access denied for \(image), repository does not exist or may require 'docker login'"
            await setWaiting(ns, name, containers, reason: "ErrImagePull", message: pullMessage)
            await events.record(pod, type: "Normal", reason: "Pulling", message: "Pulling image \"\(image)\"")
            await events.record(pod, type: "Warning", reason: "Failed", message: pullMessage)
            await events.record(pod, type: "Warning", reason: "Failed", message: "Error: ErrImagePull")
            try? await Task.sleep(for: .seconds(1))
            guard await current(ns, name, uid) != nil else { return }
            await setWaiting(ns, name, containers, reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
            await events.record(pod, type: "Normal", reason: "BackOff", message: "Back-off pulling image \"\(image)\"")
            await events.record(pod, type: "Warning", reason: "Failed", message: "Error: ImagePullBackOff")
            try? await Task.sleep(for: .seconds(Double(min(backoff, 30))))
            backoff *= 2
        }
        let prepared: [(name: String, argv: [String], env: [String: String])]
        do {
            try prepareVolumes(pod)
            var list: [(String, [String], [String: String])] = []
            var first: String? = nil
            for c in containers {
                let (argv, env) = try await runArguments(pod, c, networkOf: first)
                let cname = c["name"]?.string ?? ""
                list.append((cname, argv, env))
                if first == nil { first = dockerName(pod, cname) }
            }
            prepared = list
        } catch let error as APIError {
            await setWaiting(ns, name, containers, reason: "CreateContainerConfigError", message: error.message)
            await events.record(pod, type: "Warning", reason: "Failed", message: "Error: \(error.message)")
            return
        } catch {
            await setWaiting(ns, name, containers, reason: "CreateContainerConfigError", message: "\(error)")
            return
        }
        var statuses: [JSON] = []
        for (c, item) in zip(containers, prepared) {
            guard await current(ns, name, uid) != nil else { return }
            let image = c["image"]?.string ?? ""
            await events.record(pod, type: "Normal", reason: "Pulled", message: "Container image \"\(image)\" already present on machine")
            await acquireStart()
            let result = await Subprocess.run(item.argv, environment: item.env)
            releaseStart()
            if result.status != 0 {
                let message = result.errorText
                await setWaiting(ns, name, containers, reason: "RunContainerError", message: message)
                await events.record(pod, type: "Warning", reason: "Failed", message: "Error: \(message)")
                return
            }
            await events.record(pod, type: "Normal", reason: "Created", message: "Created container \(item.name)")
            await events.record(pod, type: "Normal", reason: "Started", message: "Started container \(item.name)")
            let imageID = await imageInfo(image)?.id ?? ""
            statuses.append([
                "name": .string(item.name), "image": .string(image), "imageID": .string("docker://" + imageID),
                "containerID": .string("docker://" + result.text), "ready": true, "started": true, "restartCount": 0,
                "state": ["running": ["startedAt": .string(kubeTime())]], "lastState": [:],
            ])
        }
        await store.update("pods", ns, name) { p in
            p.set("status.phase", "Running")
            p.set("status.podIP", "127.0.0.1")
            p.set("status.podIPs", [["ip": "127.0.0.1"]])
            p.set("status.startTime", .string(kubeTime()))
            p.set("status.containerStatuses", .array(statuses))
            p.set("status.conditions", [
                Kubelet.condition("PodReadyToStartContainers", true), Kubelet.condition("Initialized", true),
                Kubelet.condition("Ready", true), Kubelet.condition("ContainersReady", true), Kubelet.condition("PodScheduled", true),
            ])
        }
        for c in containers { let n = c["name"]?.string ?? ""; Task { await self.monitor(pod, container: n) } }
    }

    /// After a restart of the server: pods already on the node keep their containers.
    private func adopt(_ pod: JSON) async {
        guard let uid = pod.at("metadata.uid")?.string else { return }
        started.insert(uid)
        let phase = pod.at("status.phase")?.string
        if phase == "Running" {
            for c in pod.at("spec.containers")?.array ?? [] {
                let n = c["name"]?.string ?? ""
                // It may have ended while the server was down: the events stream starts now.
                let state = await Subprocess.run(["docker", "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", dockerName(pod, n)])
                let fields = state.text.split(separator: " ")
                if state.status != 0 { containerExited(dockerName(pod, n), 137) } else if fields.first == "false" {
                    containerExited(dockerName(pod, n), fields.count > 1 ? Int64(fields[1]) ?? 0 : 0)
                }
                Task { await self.monitor(pod, container: n) }
            }
        } else if phase == "Pending" {
            let ns = pod.at("metadata.namespace")?.string ?? "", name = pod.at("metadata.name")?.string ?? ""
            Task { await self.startPod(uid: uid, namespace: ns, name: name) }
        }
        if pod.at("metadata.deletionTimestamp") != nil {
            let grace = pod.at("metadata.deletionGracePeriodSeconds")?.int ?? 0
            Task { await self.terminate(pod, grace: grace) }
        }
    }

    /// Waits for a container's exit, then records it (and restarts it per restartPolicy).
    private func monitor(_ pod: JSON, container: String) async {
        let docker = dockerName(pod, container)
        let ns = pod.at("metadata.namespace")?.string ?? "", name = pod.at("metadata.name")?.string ?? ""
        let uid = pod.at("metadata.uid")?.string ?? ""
        while true {
            let code = await nextExit(docker)
            if terminating.contains(uid) { return }
            guard await current(ns, name, uid) != nil else { return }
            let policy = pod.at("spec.restartPolicy")?.string ?? "Always"
            let restart = policy == "Always" || (policy == "OnFailure" && code != 0)
            let finished = kubeTime()
            let terminated: JSON = ["exitCode": .int(code), "reason": code == 0 ? "Completed" : "Error",
                                    "startedAt": "", "finishedAt": .string(finished)]
            await store.update("pods", ns, name) { p in
                var statuses = p.at("status.containerStatuses")?.array ?? []
                for i in statuses.indices where statuses[i]["name"]?.string == container {
                    var t = terminated
                    t["startedAt"] = statuses[i].at("state.running.startedAt") ?? .string(finished)
                    statuses[i]["ready"] = false
                    statuses[i]["started"] = false
                    if restart {
                        statuses[i]["lastState"] = ["terminated": t]
                        statuses[i]["state"] = ["waiting": ["reason": "CrashLoopBackOff", "message": .string("back-off 10s restarting failed container=\(container) pod=\(name)_\(ns)(\(uid))")]]
                    } else {
                        statuses[i]["state"] = ["terminated": t]
                    }
                }
                p.set("status.containerStatuses", .array(statuses))
                let states = statuses.map { $0["state"] }
                let allDone = states.allSatisfy { $0?["terminated"] != nil }
                if allDone {
                    let failed = states.contains { ($0?.at("terminated.exitCode")?.int ?? 0) != 0 }
                    p.set("status.phase", failed ? "Failed" : "Succeeded")
                }
                p.set("status.conditions", [
                    Kubelet.condition("PodReadyToStartContainers", !allDone), Kubelet.condition("Initialized", true),
                    Kubelet.condition("Ready", false, reason: allDone ? "PodCompleted" : "ContainersNotReady"),
                    Kubelet.condition("ContainersReady", false, reason: allDone ? "PodCompleted" : "ContainersNotReady"),
                    Kubelet.condition("PodScheduled", true),
                ])
            }
            if !restart { return }
            await events.record(pod, type: "Warning", reason: "BackOff", message: "Back-off restarting failed container \(container) in pod \(name)_\(ns)(\(uid))")
            try? await Task.sleep(for: .seconds(1))
            guard await current(ns, name, uid) != nil, !terminating.contains(uid) else { return }
            guard await Subprocess.run(["docker", "start", docker]).status == 0 else { return }
            await store.update("pods", ns, name) { p in
                var statuses = p.at("status.containerStatuses")?.array ?? []
                for i in statuses.indices where statuses[i]["name"]?.string == container {
                    statuses[i]["restartCount"] = .int((statuses[i]["restartCount"]?.int ?? 0) + 1)
                    statuses[i]["state"] = ["running": ["startedAt": .string(kubeTime())]]
                    statuses[i]["ready"] = true
                    statuses[i]["started"] = true
                }
                p.set("status.containerStatuses", .array(statuses))
                p.set("status.phase", "Running")
                let ready = statuses.allSatisfy { $0["ready"]?.bool == true }
                p.set("status.conditions", [
                    Kubelet.condition("PodReadyToStartContainers", true), Kubelet.condition("Initialized", true),
                    Kubelet.condition("Ready", ready), Kubelet.condition("ContainersReady", ready), Kubelet.condition("PodScheduled", true),
                ])
            }
        }
    }

    // MARK: images, starts and exits

    func imageInfo(_ image: String) async -> ImageInfo? {
        if let cached = images[image], ContinuousClock.now - cached.at < .seconds(Kubelet.imageCacheSeconds) { return cached.info }
        if let lookup = imageLookups[image] { return await lookup.value }
        let lookup = Task<ImageInfo?, Never> {
            let result = await Subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}} {{.Config.User}}", image])
            guard result.status == 0 else { return nil }
            let fields = result.text.split(separator: " ", maxSplits: 1)
            return ImageInfo(id: fields.first.map(String.init) ?? "", user: fields.count > 1 ? String(fields[1]) : "")
        }
        imageLookups[image] = lookup
        let info = await lookup.value
        imageLookups[image] = nil
        if let info { images[image] = (info, ContinuousClock.now) }  // a missing image is looked up again
        return info
    }

    private func acquireStart() async {
        if startsRunning < Kubelet.parallelStarts {
            startsRunning += 1
            return
        }
        await withCheckedContinuation { startQueue.append($0) }
    }

    private func releaseStart() {
        if startQueue.isEmpty { startsRunning -= 1 } else { startQueue.removeFirst().resume() }
    }

    /// The exit code of the container's next exit.
    private func nextExit(_ docker: String) async -> Int64 {
        if let code = exits.removeValue(forKey: docker) { return code }
        return await withCheckedContinuation { exitWaiters[docker] = $0 }
    }

    private func containerExited(_ docker: String, _ code: Int64) {
        if let waiter = exitWaiters.removeValue(forKey: docker) { waiter.resume(returning: code) } else { exits[docker] = code }
    }

    /// Follows the engine's `die` events of this cluster's containers, for as long as the
    /// server runs (started again where it left off if the stream ends).
    func watchExits() {
        Task {
            var since = String(Int(Date().timeIntervalSince1970) - 1)
            while true {
                let argv = ["docker", "events", "--since", since, "--filter", "type=container", "--filter", "event=die",
                            "--filter", "label=\(Kubelet.clusterLabel)=\(clusterID)",
                            "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}} {{.Time}}"]
                guard let out = try? Subprocess.pipe() else { return }
                let pid: pid_t
                do {
                    pid = try Subprocess.spawn(argv, stdio: .descriptors(stdin: out.write, stdout: out.write, stderr: out.write))
                } catch {
                    close(out.read); close(out.write)
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                close(out.write)
                var pending: [UInt8] = []
                for await chunk in Subprocess.chunks(of: out.read) {
                    pending += chunk
                    while let newline = pending.firstIndex(of: 0x0A) {
                        let fields = String(decoding: pending[..<newline], as: UTF8.self).split(separator: " ")
                        pending.removeSubrange(...newline)
                        guard fields.count == 3, fields[0].hasPrefix("k8s_") else { continue }
                        since = String(fields[2])
                        containerExited(String(fields[0]), Int64(fields[1]) ?? 137)
                    }
                }
                _ = await Subprocess.wait(pid)
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: volumes and container arguments

    private func prepareVolumes(_ pod: JSON) throws {
        let fm = FileManager.default
        let base = podDirectory(pod) + "/volumes"
        try fm.createDirectory(atPath: base, withIntermediateDirectories: true)
        for volume in pod.at("spec.volumes")?.array ?? [] {
            let dir = base + "/" + (volume["name"]?.string ?? "")
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if volume["emptyDir"] != nil { chmod(dir, 0o777) }
        }
    }

    private func fillKeyedVolume(_ pod: JSON, _ volume: JSON, data: [String: Data], source: JSON) throws {
        let dir = podDirectory(pod) + "/volumes/" + (volume["name"]?.string ?? "")
        let mode = mode_t(source["defaultMode"]?.int ?? 0o644)
        var files: [(String, Data, mode_t)] = []
        if let items = source["items"]?.array {
            for item in items {
                guard let key = item["key"]?.string, let value = data[key] else { continue }
                files.append((item["path"]?.string ?? key, value, mode_t(item["mode"]?.int ?? Int64(mode))))
            }
        } else {
            files = data.map { ($0.key, $0.value, mode) }
        }
        for (path, value, fileMode) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: full, contents: value, attributes: [.posixPermissions: Int(fileMode)])
        }
    }

    private func secretData(_ ns: String, _ name: String) async throws -> [String: Data]? {
        guard let secret = await store.get("secrets", ns, name) else { return nil }
        var data: [String: Data] = [:]
        for (k, v) in secret["data"]?.object ?? [:] { data[k] = v.string.flatMap { Data(base64Encoded: $0) } ?? Data() }
        for (k, v) in secret["stringData"]?.object ?? [:] { data[k] = Data((v.string ?? "").utf8) }
        return data
    }

    private func configMapData(_ ns: String, _ name: String) async -> [String: Data]? {
        guard let map = await store.get("configmaps", ns, name) else { return nil }
        var data: [String: Data] = [:]
        for (k, v) in map["data"]?.object ?? [:] { data[k] = Data((v.string ?? "").utf8) }
        for (k, v) in map["binaryData"]?.object ?? [:] { data[k] = v.string.flatMap { Data(base64Encoded: $0) } ?? Data() }
        return data
    }

    /// `docker run` argv for one container; environment values travel in the docker CLI's own
    /// environment (`-e NAME` without a value), never in argv.
    private func runArguments(_ pod: JSON, _ c: JSON, networkOf first: String?) async throws -> ([String], [String: String]) {
        let ns = pod.at("metadata.namespace")?.string ?? "", podName = pod.at("metadata.name")?.string ?? ""
        let cname = c["name"]?.string ?? ""
        var argv = ["docker", "run", "-d", "--name", dockerName(pod, cname),
                    "--label", "\(Kubelet.clusterLabel)=\(clusterID)",
                    "--label", "io.kubernetes.pod.name=\(podName)",
                    "--label", "io.kubernetes.pod.namespace=\(ns)",
                    "--label", "io.kubernetes.pod.uid=\(pod.at("metadata.uid")?.string ?? "")",
                    "--label", "io.kubernetes.container.name=\(cname)"]
        if let first { argv += ["--network", "container:" + first] } else { argv += ["--network", "none", "--hostname", podName] }
        var env: [String: String] = [:]
        var names: [String] = []
        func put(_ key: String, _ value: String) { if env[key] == nil { names.append(key) }; env[key] = value }
        for from in c["envFrom"]?.array ?? [] {
            let prefix = from["prefix"]?.string ?? ""
            if let ref = from.at("secretRef.name")?.string {
                guard let data = try await secretData(ns, ref) else {
                    if from.at("secretRef.optional")?.bool == true { continue }
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "secret \"\(ref)\" not found")
                }
                for (k, v) in data.sorted(by: { $0.key < $1.key }) { put(prefix + k, String(decoding: v, as: UTF8.self)) }
            }
            if let ref = from.at("configMapRef.name")?.string {
                guard let data = await configMapData(ns, ref) else {
                    if from.at("configMapRef.optional")?.bool == true { continue }
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "configmap \"\(ref)\" not found")
                }
                for (k, v) in data.sorted(by: { $0.key < $1.key }) { put(prefix + k, String(decoding: v, as: UTF8.self)) }
            }
        }
        for e in c["env"]?.array ?? [] {
            guard let key = e["name"]?.string else { continue }
            if let value = e["value"]?.string { put(key, value); continue }
            if let ref = e.at("valueFrom.secretKeyRef"), let secretName = ref["name"]?.string, let k = ref["key"]?.string {
                guard let data = try await secretData(ns, secretName) else {
                    if ref["optional"]?.bool == true { continue }
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "secret \"\(secretName)\" not found")
                }
                guard let value = data[k] else {
                    if ref["optional"]?.bool == true { continue }
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "couldn't find key \(k) in Secret \(ns)/\(secretName)")
                }
                put(key, String(decoding: value, as: UTF8.self))
            } else if let ref = e.at("valueFrom.configMapKeyRef"), let mapName = ref["name"]?.string, let k = ref["key"]?.string {
                guard let value = await configMapData(ns, mapName)?[k] else {
                    if ref["optional"]?.bool == true { continue }
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "couldn't find key \(k) in ConfigMap \(ns)/\(mapName)")
                }
                put(key, String(decoding: value, as: UTF8.self))
            } else if let path = e.at("valueFrom.fieldRef.fieldPath")?.string {
                let value: String
                switch path {
                case "status.podIP", "status.hostIP": value = "127.0.0.1"
                case "spec.nodeName": value = Kubelet.nodeName
                default: value = pod.at(path)?.string ?? ""
                }
                put(key, value)
            } else {
                put(key, "")
            }
        }
        for key in names { argv += ["-e", key] }
        // Security context: the container's overrides the pod's.
        let podSecurity = pod.at("spec.securityContext") ?? [:]
        let security = c["securityContext"] ?? [:]
        let user = security["runAsUser"]?.int ?? podSecurity["runAsUser"]?.int
        let group = security["runAsGroup"]?.int ?? podSecurity["runAsGroup"]?.int
        let nonRoot = security["runAsNonRoot"]?.bool ?? podSecurity["runAsNonRoot"]?.bool ?? false
        if nonRoot {
            if let user, user == 0 {
                throw APIError(code: 400, reason: "CreateContainerConfigError", message: "container's runAsUser breaks non-root policy (pod: \"\(podName)_\(ns)(\(pod.at("metadata.uid")?.string ?? ""))\", container: \(cname))")
            }
            if user == nil {
                let imageUser = await imageInfo(c["image"]?.string ?? "")?.user ?? ""
                if imageUser.isEmpty || imageUser == "root" || imageUser == "0" {
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "container has runAsNonRoot and image will run as root (pod: \"\(podName)_\(ns)(\(pod.at("metadata.uid")?.string ?? ""))\", container: \(cname))")
                }
            }
        }
        if let user { argv += ["--user", group.map { "\(user):\($0)" } ?? "\(user)"] }
        for gid in podSecurity["supplementalGroups"]?.array ?? [] { if let g = gid.int { argv += ["--group-add", String(g)] } }
        if let fsGroup = podSecurity["fsGroup"]?.int { argv += ["--group-add", String(fsGroup)] }
        if let drop = security.at("capabilities.drop")?.array { for cap in drop { if let s = cap.string { argv += ["--cap-drop", s] } } }
        if let add = security.at("capabilities.add")?.array { for cap in add { if let s = cap.string { argv += ["--cap-add", s] } } }
        if security["allowPrivilegeEscalation"]?.bool == false { argv += ["--security-opt", "no-new-privileges"] }
        if security["readOnlyRootFilesystem"]?.bool == true { argv.append("--read-only") }
        // Resources: limits are enforced, requests only count for scheduling.
        if let memory = c.at("resources.limits.memory")?.string.flatMap(Quantity.bytes) { argv += ["--memory", String(memory)] }
        if let cpu = c.at("resources.limits.cpu")?.string.flatMap(Quantity.milliCPU) {
            argv += ["--cpus", String(format: "%.3f", Double(cpu) / 1000)]
        }
        // Volumes.
        let volumes = Dictionary((pod.at("spec.volumes")?.array ?? []).map { ($0["name"]?.string ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for mount in c["volumeMounts"]?.array ?? [] {
            guard let vname = mount["name"]?.string, let path = mount["mountPath"]?.string, let volume = volumes[vname] else {
                throw APIError(code: 400, reason: "CreateContainerConfigError", message: "volume \"\(mount["name"]?.string ?? "")\" not found in pod spec")
            }
            var host = podDirectory(pod) + "/volumes/" + vname
            if let secret = volume["secret"] {
                let secretName = secret["secretName"]?.string ?? ""
                guard let data = try await secretData(ns, secretName) else {
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "MountVolume.SetUp failed for volume \"\(vname)\" : secret \"\(secretName)\" not found")
                }
                try fillKeyedVolume(pod, volume, data: data, source: secret)
            } else if let map = volume["configMap"] {
                let mapName = map["name"]?.string ?? ""
                guard let data = await configMapData(ns, mapName) else {
                    throw APIError(code: 400, reason: "CreateContainerConfigError", message: "MountVolume.SetUp failed for volume \"\(vname)\" : configmap \"\(mapName)\" not found")
                }
                try fillKeyedVolume(pod, volume, data: data, source: map)
            } else if let hostPath = volume.at("hostPath.path")?.string {
                host = hostPath
            }
            if let sub = mount["subPath"]?.string, !sub.isEmpty {
                host += "/" + sub
                try? FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            }
            let readOnly = mount["readOnly"]?.bool == true || volume["secret"] != nil || volume["configMap"] != nil
            argv += ["-v", host + ":" + path + (readOnly ? ":ro" : "")]
        }
        if let dir = c["workingDir"]?.string, !dir.isEmpty { argv += ["-w", dir] }
        if c["stdin"]?.bool == true { argv.append("-i") }
        if c["tty"]?.bool == true { argv.append("-t") }
        let command = c["command"]?.array?.compactMap(\.string) ?? []
        let args = c["args"]?.array?.compactMap(\.string) ?? []
        if let entry = command.first { argv += ["--entrypoint", entry] }
        argv.append(c["image"]?.string ?? "")
        argv += Array(command.dropFirst()) + args
        return (argv, env)
    }

    // MARK: deleting

    /// Stops the pod's containers within the grace period, removes them and the object.
    func terminate(_ pod: JSON, grace: Int64) async {
        let uid = pod.at("metadata.uid")?.string ?? ""
        terminating.insert(uid)
        let names = (pod.at("spec.containers")?.array ?? []).map { dockerName(pod, $0["name"]?.string ?? "") }
        await withTaskGroup(of: Void.self) { group in
            for n in names.reversed() {
                group.addTask {
                    if grace > 0 { _ = await Subprocess.run(["docker", "stop", "-t", String(grace), n]) }
                    _ = await Subprocess.run(["docker", "rm", "-f", "-v", n])
                }
            }
        }
        try? FileManager.default.removeItem(atPath: podDirectory(pod))
        for n in names {
            exits[n] = nil
            exitWaiters.removeValue(forKey: n)?.resume(returning: 137)
        }
        let ns = pod.at("metadata.namespace")?.string ?? "", name = pod.at("metadata.name")?.string ?? ""
        if let stored = await store.get("pods", ns, name), stored.at("metadata.uid")?.string == uid {
            await store.delete("pods", ns, name)
        }
        terminating.remove(uid)
        started.remove(uid)
        await rescheduleWaiting()
    }
}

/// Writes core/v1 Events about objects, as the kubelet and scheduler do.
struct EventRecorder: Sendable {
    let store: Store

    func record(_ object: JSON, type: String, reason: String, message: String, component: String = "kubelet") async {
        let ns = object.at("metadata.namespace")?.string ?? "default"
        let name = object.at("metadata.name")?.string ?? ""
        let now = kubeTime()
        let event: JSON = [
            "metadata": ["name": .string("\(name).\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")],
            "involvedObject": [
                "kind": object["kind"] ?? "Pod", "namespace": .string(ns), "name": .string(name),
                "uid": object.at("metadata.uid") ?? "", "apiVersion": "v1",
                "resourceVersion": object.at("metadata.resourceVersion") ?? "",
            ],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component), "host": .string(Kubelet.nodeName)],
            "firstTimestamp": .string(now), "lastTimestamp": .string(now), "count": 1,
            "reportingComponent": .string(component), "reportingInstance": .string(Kubelet.nodeName),
        ]
        _ = try? await store.create("events", ns, event)
    }
}
