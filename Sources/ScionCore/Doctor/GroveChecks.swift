import Foundation

extension Orchestrator {
    /// `scion doctor`'s checks of the grove's agents: drift (each problem,
    /// repaired with `fix` where it can be) and leftovers that `scion prune`
    /// removes (with `fix`, git worktree entries no agent owns are removed).
    public func groveChecks(fix: Bool) -> [Doctor.Check] {
        var checks: [Doctor.Check] = []
        for problem in drift() {
            let name = "agent \(problem.agent)"
            guard fix else {
                checks.append(Doctor.Check(name: name, result: .warning, detail: problem.message))
                continue
            }
            guard problem.fixable else {
                checks.append(Doctor.Check(name: name, result: .warning, detail: "cannot fix: \(problem.message)"))
                continue
            }
            do {
                checks.append(Doctor.Check(name: name, result: .ok, detail: "fixed: " + (try repair(problem))))
            } catch {
                checks.append(Doctor.Check(name: name, result: .failed, detail: "cannot fix: \(error)"))
            }
        }
        let pruner = Pruner(orchestrator: self)
        let entries = fix ? pruner.worktreeEntries(dryRun: false) : []
        let leftovers = entries + pruner.run(dryRun: true).filter { $0.action != .kept || !fix }
        for item in leftovers {
            switch item.action {
            case .removed:
                checks.append(Doctor.Check(name: "leftover", result: .ok, detail: "fixed: removed \(item.detail)"))
            case .failed:
                checks.append(Doctor.Check(name: "leftover", result: .failed, detail: "cannot remove \(item.detail)"))
            case .kept:
                checks.append(Doctor.Check(name: "leftover", result: .warning, detail: item.detail))
            case .wouldRemove:
                checks.append(Doctor.Check(name: "leftover", result: .warning, detail: "\(item.detail): `scion prune` removes it"))
            }
        }
        if checks.isEmpty {
            checks.append(Doctor.Check(name: "agents", result: .ok, detail: "no drift and no leftovers"))
        }
        return checks
    }
}
