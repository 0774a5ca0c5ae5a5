import Foundation
import ScionPluginKit

/// Resource limits as container engines take them, parsed from the strings
/// written in settings (`resources: { memory: "2g", cpus: "1.5" }`).
public struct ResourceLimits: Sendable, Equatable {
    /// Memory limit in bytes.
    public var memoryBytes: Int64?
    /// CPU limit in billionths of a CPU (Docker's NanoCpus).
    public var nanoCPUs: Int64?

    public init(memoryBytes: Int64? = nil, nanoCPUs: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.nanoCPUs = nanoCPUs
    }

    public init(_ resources: RunSpec.Resources) throws {
        memoryBytes = try resources.memory.flatMap(Self.parseMemory)
        nanoCPUs = try resources.cpus.flatMap(Self.parseCPUs)
    }

    /// The CPU limit as a decimal number of CPUs, as `--cpus` takes it.
    public var cpusText: String? {
        nanoCPUs.map { nano in
            let whole = nano / 1_000_000_000, fraction = nano % 1_000_000_000
            guard fraction != 0 else { return String(whole) }
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(whole).\(digits)"
        }
    }

    /// "512m", "2g", "1.5G", "2GiB", "1048576" (bytes). Units are binary, as
    /// docker and podman read them. Empty means no limit.
    public static func parseMemory(_ text: String) throws -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        let invalid = PluginError(
            .invalidArgument,
            "invalid memory limit \"\(text)\": use a number with an optional unit b, k, m, g or t (for example \"512m\" or \"2g\")",
            details: ["setting": .string("resources.memory"), "value": .string(text)])
        let numberEnd = trimmed.firstIndex { !($0.isNumber || $0 == ".") } ?? trimmed.endIndex
        let number = String(trimmed[..<numberEnd])
        var unit = String(trimmed[numberEnd...]).trimmingCharacters(in: .whitespaces)
        for suffix in ["ib", "b"] where unit.count > suffix.count && unit.hasSuffix(suffix) {
            unit.removeLast(suffix.count)
            break
        }
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776,
        ]
        guard number.allSatisfy({ $0.isASCII }), number.filter({ $0 == "." }).count <= 1,
              let value = Double(number), let multiplier = multipliers[unit]
        else { throw invalid }
        let bytes = (value * multiplier).rounded(.down)
        guard bytes >= 1, bytes < Double(Int64.max) else {
            throw PluginError(
                .invalidArgument, "invalid memory limit \"\(text)\": it must be more than zero",
                details: ["setting": .string("resources.memory"), "value": .string(text)])
        }
        return Int64(bytes)
    }

    /// "1.5" (CPUs) or "500m" (thousandths of a CPU). Empty means no limit.
    public static func parseCPUs(_ text: String) throws -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        let invalid = PluginError(
            .invalidArgument,
            "invalid CPU limit \"\(text)\": use a positive number of CPUs (for example \"1.5\") or thousandths (\"500m\")",
            details: ["setting": .string("resources.cpus"), "value": .string(text)])
        let milli = trimmed.hasSuffix("m")
        let number = milli ? String(trimmed.dropLast()) : trimmed
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite
        else { throw invalid }
        let nano = (value * (milli ? 1_000_000 : 1_000_000_000)).rounded()
        guard nano >= 1_000_000, nano < 1e15 else { throw invalid }
        return Int64(nano)
    }
}
