import Foundation
import ScionPluginKit

/// Pod-level steps of the runtime: create and wait, list, delete.
public struct PodOperations: Sendable {
    public let client: KubeClient

    public init(client: KubeClient) {
        self.client = client
    }

    // MARK: mapping

    /// An agent as its pod shows it: the spec's labels come back exactly
    /// from the annotation; phase Pending is created, Running running,
    /// anything after it stopped.
    public static func runtimeAgent(_ pod: [String: Any]) -> RuntimeAgent {
        let metadata = pod["metadata"] as? [String: Any] ?? [:]
        let name = metadata["name"] as? String ?? ""
        let labels = annotation(pod, PodPlan.labelsAnnotation).flatMap { text in
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String]
        } ?? (metadata["labels"] as? [String: String] ?? [:])
        let status = pod["status"] as? [String: Any] ?? [:]
        let phase = status["phase"] as? String ?? "Pending"
        let deleting = metadata["deletionTimestamp"] != nil
        let container = (status["containerStatuses"] as? [[String: Any]] ?? []).first { $0["name"] as? String == PodPlan.containerName }
        let stateObject = container?["state"] as? [String: Any] ?? [:]
        var state: RuntimeAgent.State
        switch phase {
        case "Running": state = stateObject["running"] != nil ? .running : .stopped
        case "Pending": state = .created
        default: state = .stopped
        }
        if deleting { state = .stopped }
        var detail: String? = phase == "Running" ? nil : "pod \(name) is \(phase)"
        if let waiting = stateObject["waiting"] as? [String: Any], let reason = waiting["reason"] as? String {
            detail = "pod \(name): \(reason)\((waiting["message"] as? String).map { ": \($0)" } ?? "")"
        }
        return RuntimeAgent(
            name: annotation(pod, PodPlan.nameAnnotation) ?? name, handle: name, state: state, labels: labels, detail: detail)
    }

    public static func annotation(_ pod: [String: Any]?, _ key: String) -> String? {
        ((pod?["metadata"] as? [String: Any])?["annotations"] as? [String: String])?[key]
    }

    /// The label selector for the labels a list asks for: those that are
    /// valid label values (others are checked after, on the annotation).
    public static func selector(_ labels: [String: String]) -> String {
        labels.filter { PodPlan.isLabelKey($0.key) && PodPlan.isLabelValue($0.value) }
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    // MARK: list

    /// One call: the pods with the labels, filtered exactly on the labels
    /// annotation (label values cannot hold paths).
    public func list(labels: [String: String]) throws -> [RuntimeAgent] {
        var query: [(String, String)] = []
        let selector = Self.selector(labels)
        if !selector.isEmpty { query.append(("labelSelector", selector)) }
        let body = try client.require("GET", client.podPath(), query: query, what: "list pods in namespace \(client.namespace)")
        let items = try client.json(body)["items"] as? [[String: Any]] ?? []
        return items.map(Self.runtimeAgent).filter { agent in labels.allSatisfy { agent.labels[$0.key] == $0.value } }
    }

    // MARK: create

    /// Creates or replaces the agent's Secret.
    public func replaceSecret(_ name: String, body: Data) throws {
        let response = try client.request("POST", client.secretPath(), body: body)
        if response.status == 409 {
            try client.require("PUT", client.secretPath(name), body: body, what: "replace secret \(name)")
            return
        }
        guard (200..<300).contains(response.status) else { throw client.error(response, doing: "create secret \(name)") }
    }

    /// A pod of the same name that has finished (a stopped agent's, or one
    /// that died) is removed before a new one is made; a running one is an
    /// error the host resolves (`already_exists`).
    public func clearFinished(_ podName: String, agent: String) throws {
        guard let pod = try client.get(client.podPath(podName), what: "read pod \(podName)") else { return }
        if Self.runtimeAgent(pod).state == .running && (pod["metadata"] as? [String: Any])?["deletionTimestamp"] == nil {
            throw PluginError(.alreadyExists, "agent \(agent) already has a running pod \(podName) in namespace \(client.namespace)")
        }
        try client.delete(client.podPath(podName), what: "delete the old pod \(podName)", gracePeriodSeconds: 0)
        try waitUntilGone(podName, timeout: 60)
    }

    public func waitUntilGone(_ podName: String, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try client.get(client.podPath(podName), what: "read pod \(podName)") != nil {
            guard Date() < deadline else {
                throw PluginError(.unavailable, "pod \(podName) is still being deleted after \(Int(timeout)) s (\(client.access.summary))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Waits for the pod to run; a pod that cannot (its image cannot be
    /// pulled, no node can take it, it ended) is reported in plain words.
    public func waitUntilRunning(_ plan: PodPlan, agent: String, timeout: Double, sink: EventSink) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var unschedulableSince: Date?
        var delay = 0.02
        while true {
            guard let pod = try client.get(client.podPath(plan.podName), what: "read pod \(plan.podName)") else {
                throw PluginError(.unavailable, "pod \(plan.podName) of agent \(agent) disappeared while starting (\(client.access.summary))")
            }
            if let problem = Self.startProblem(pod, plan: plan, agent: agent, namespace: client.namespace) {
                if problem.unschedulable {
                    unschedulableSince = unschedulableSince ?? Date()
                    if Date().timeIntervalSince(unschedulableSince!) >= 5 { throw problem.error }
                } else {
                    throw problem.error
                }
            }
            let status = pod["status"] as? [String: Any] ?? [:]
            if status["phase"] as? String == "Running", Self.runtimeAgent(pod).state == .running { return }
            guard Date() < deadline else {
                throw PluginError(
                    .unavailable,
                    "pod \(plan.podName) of agent \(agent) is not running after \(Int(timeout)) s (phase \(status["phase"] as? String ?? "unknown")); "
                        + "`kubectl describe pod \(plan.podName) -n \(client.namespace)` says why, and runtimes.<name>.start_timeout waits longer")
            }
            guard sink.wait(delay) else { throw PluginError(.unavailable, "cancelled while pod \(plan.podName) was starting") }
            delay = min(0.25, delay * 1.5)
        }
    }

    /// Why a pod cannot start, in words with the fix.
    public static func startProblem(_ pod: [String: Any], plan: PodPlan, agent: String, namespace: String)
        -> (error: PluginError, unschedulable: Bool)?
    {
        let status = pod["status"] as? [String: Any] ?? [:]
        let containers = status["containerStatuses"] as? [[String: Any]] ?? []
        let container = containers.first { $0["name"] as? String == PodPlan.containerName }
        let state = container?["state"] as? [String: Any] ?? [:]
        if let waiting = state["waiting"] as? [String: Any], let reason = waiting["reason"] as? String {
            let message = waiting["message"] as? String ?? ""
            if ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"].contains(reason) {
                return (PluginError(
                    .failedPrecondition,
                    "the cluster cannot pull image \(plan.image) for agent \(agent) (\(reason)\(message.isEmpty ? "" : ": \(message)")); "
                        + "check the image name and tag, and that the cluster's nodes can reach its registry (an imagePullSecret for a private one)",
                    details: ["reason": .string(reason), "pod": .string(plan.podName)]), false)
            }
            if ["CreateContainerConfigError", "CreateContainerError", "RunContainerError"].contains(reason) {
                return (PluginError(
                    .failedPrecondition, "the agent container of pod \(plan.podName) cannot be created (\(reason)): \(message)",
                    details: ["reason": .string(reason)]), false)
            }
        }
        if let terminated = state["terminated"] as? [String: Any] {
            let code = terminated["exitCode"] as? Int ?? -1
            let message = (terminated["message"] as? String) ?? (terminated["reason"] as? String) ?? ""
            return (PluginError(
                .failedPrecondition,
                "the agent container of pod \(plan.podName) ended with exit status \(code) before its session started\(message.isEmpty ? "" : ": \(message)")"), false)
        }
        for condition in status["conditions"] as? [[String: Any]] ?? []
        where condition["type"] as? String == "PodScheduled" && condition["status"] as? String == "False"
            && condition["reason"] as? String == "Unschedulable" {
            let message = condition["message"] as? String ?? ""
            return (PluginError(
                .failedPrecondition,
                "no node of the cluster can take agent \(agent)'s pod \(plan.podName) (Unschedulable: \(message)); "
                    + "lower the agent's resources (profile resources.memory / resources.cpus) or add capacity to the cluster",
                details: ["reason": .string("Unschedulable"), "pod": .string(plan.podName)]), true)
        }
        if let phase = status["phase"] as? String, ["Failed", "Succeeded"].contains(phase) {
            return (PluginError(.failedPrecondition, "pod \(plan.podName) of agent \(agent) ended (\(phase)) before its session started: \(status["message"] as? String ?? "")"), false)
        }
        return nil
    }

    // MARK: delete

    /// The agent's pod and secret go.
    public func deleteAgent(_ podName: String, gracePeriod: Int) throws {
        try client.delete(client.podPath(podName), what: "delete pod \(podName)", gracePeriodSeconds: gracePeriod)
        try client.delete(client.secretPath(podName + "-env"), what: "delete secret \(podName)-env")
    }

    /// After a failed start: the pod and secret, only if this start made them.
    public func deleteStarted(_ podName: String, secret: String?, startID: String) throws {
        if let pod = try client.get(client.podPath(podName), what: "read pod \(podName)"),
           ((pod["metadata"] as? [String: Any])?["labels"] as? [String: String])?[PodPlan.startLabel] == startID {
            try client.delete(client.podPath(podName), what: "delete pod \(podName)", gracePeriodSeconds: 0)
        }
        if let secret { try client.delete(client.secretPath(secret), what: "delete secret \(secret)") }
    }
}
