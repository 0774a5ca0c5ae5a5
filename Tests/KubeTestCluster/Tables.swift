import Foundation

/// `meta.k8s.io/v1` Table output, which kubectl asks `get` for (Accept: ...;as=Table;...).
enum Tables {
    static func age(_ created: String?) -> String {
        guard let created, let date = parseKubeTime(created) else { return "<unknown>" }
        let s = max(0, Int(Date().timeIntervalSince(date)))
        if s < 120 { return "\(s)s" }
        let m = s / 60
        if m < 10 { return s % 60 == 0 ? "\(m)m" : "\(m)m\(s % 60)s" }
        if m < 180 { return "\(m)m" }
        let h = m / 60
        if h < 8 { return m % 60 == 0 ? "\(h)h" : "\(h)h\(m % 60)m" }
        if h < 48 { return "\(h)h" }
        let d = h / 24
        return d < 8 && h % 24 != 0 ? "\(d)d\(h % 24)h" : "\(d)d"
    }

    private static func column(_ name: String, _ type: String = "string", format: String = "", priority: Int64 = 0, _ description: String = "") -> JSON {
        ["name": .string(name), "type": .string(type), "format": .string(format), "description": .string(description), "priority": .int(priority)]
    }

    /// The status word kubectl shows for a pod (as the printer in the API server computes it).
    static func podStatus(_ pod: JSON) -> String {
        if pod.at("metadata.deletionTimestamp") != nil { return "Terminating" }
        var reason = pod.at("status.reason")?.string ?? pod.at("status.phase")?.string ?? "Pending"
        for c in pod.at("status.containerStatuses")?.array ?? [] {
            if let w = c.at("state.waiting.reason")?.string, !w.isEmpty { reason = w }
            else if let t = c.at("state.terminated.reason")?.string, !t.isEmpty { reason = t }
        }
        if reason == "Pending", pod.at("status.conditions")?.array?.contains(where: { $0["reason"]?.string == "Unschedulable" }) == true {
            return "Pending"
        }
        return reason
    }

    static func table(_ resource: String, _ items: [JSON], revision: Int64, includeObject: String?) -> JSON {
        var columns: [JSON] = [column("Name", format: "name", "Name must be unique within a namespace.")]
        var rows: [JSON] = []
        func rowObject(_ item: JSON) -> JSON {
            switch includeObject {
            case "None": return .null
            case "Object": return item
            default:
                return ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"] ?? [:]]
            }
        }
        switch resource {
        case "pods":
            columns += [column("Ready", "Ready"), column("Status", "Status"), column("Restarts", "string"), column("Age", "Age"),
                        column("IP", priority: 1), column("Node", priority: 1), column("Nominated Node", priority: 1), column("Readiness Gates", priority: 1)]
            for p in items {
                let statuses = p.at("status.containerStatuses")?.array ?? []
                let total = p.at("spec.containers")?.array?.count ?? 0
                let ready = statuses.filter { $0["ready"]?.bool == true }.count
                let restarts = statuses.reduce(Int64(0)) { $0 + ($1["restartCount"]?.int ?? 0) }
                rows.append(["cells": [
                    p.at("metadata.name") ?? "", .string("\(ready)/\(total)"), .string(podStatus(p)), .string(String(restarts)),
                    .string(age(p.at("metadata.creationTimestamp")?.string)), p.at("status.podIP") ?? "<none>",
                    p.at("spec.nodeName") ?? "<none>", "<none>", "<none>",
                ], "object": rowObject(p)])
            }
        case "namespaces":
            columns += [column("Status"), column("Age")]
            for n in items {
                rows.append(["cells": [n.at("metadata.name") ?? "", n.at("status.phase") ?? "Active", .string(age(n.at("metadata.creationTimestamp")?.string))], "object": rowObject(n)])
            }
        case "secrets":
            columns += [column("Type"), column("Data", "string"), column("Age")]
            for s in items {
                rows.append(["cells": [s.at("metadata.name") ?? "", s["type"] ?? "Opaque", .string(String(s["data"]?.object?.count ?? 0)), .string(age(s.at("metadata.creationTimestamp")?.string))], "object": rowObject(s)])
            }
        case "configmaps":
            columns += [column("Data", "string"), column("Age")]
            for s in items {
                let count = (s["data"]?.object?.count ?? 0) + (s["binaryData"]?.object?.count ?? 0)
                rows.append(["cells": [s.at("metadata.name") ?? "", .string(String(count)), .string(age(s.at("metadata.creationTimestamp")?.string))], "object": rowObject(s)])
            }
        case "events":
            columns = [column("Last Seen"), column("Type"), column("Reason"), column("Object"), column("Message")]
            for e in items {
                let object = "\((e.at("involvedObject.kind")?.string ?? "").lowercased())/\(e.at("involvedObject.name")?.string ?? "")"
                rows.append(["cells": [.string(age(e["lastTimestamp"]?.string)), e["type"] ?? "", e["reason"] ?? "", .string(object), e["message"] ?? ""], "object": rowObject(e)])
            }
        case "nodes":
            columns += [column("Status"), column("Roles"), column("Age"), column("Version")]
            for n in items {
                rows.append(["cells": [n.at("metadata.name") ?? "", "Ready", "<none>", .string(age(n.at("metadata.creationTimestamp")?.string)), "v1.32.0-scion-test"], "object": rowObject(n)])
            }
        default:
            columns += [column("Age")]
            for o in items {
                rows.append(["cells": [o.at("metadata.name") ?? "", .string(age(o.at("metadata.creationTimestamp")?.string))], "object": rowObject(o)])
            }
        }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": ["resourceVersion": .string(String(revision))],
                "columnDefinitions": .array(columns), "rows": .array(rows)]
    }
}
