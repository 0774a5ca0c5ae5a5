import Foundation
import ScionPluginKit
import Testing

@testable import ScionCore

@Suite("activity rules: sticky states, explicit reports, host input")
struct ActivityRulesTests {
    typealias Step = (update: Activity, source: ActivityRules.Source)

    /// The activity after each step, starting from nothing.
    func run(_ steps: [Step]) -> [Activity?] {
        var status = AgentStatusFile()
        return steps.map { step in
            ActivityRules.apply(ActivityUpdate(activity: step.update, message: nil), from: step.source, to: &status, at: Date())
            return status.current?.activity
        }
    }

    @Test("waiting_for_input, blocked and completed stay until new work or the session's end")
    func sticky() {
        #expect(run([(.thinking, .hook), (.waitingForInput, .hook), (.idle, .hook), (.waitingForInput, .hook), (.thinking, .hook)])
            == [.thinking, .waitingForInput, .waitingForInput, .waitingForInput, .thinking])
        #expect(run([(.waitingForInput, .hook), (.completed, .hook), (.executing, .hook)])
            == [.waitingForInput, .completed, .executing])
    }

    @Test("an explicit report holds through the rest of its turn, then yields to new work")
    func explicitHoldsUntilTurnEnd() {
        // PreToolUse, `scion status blocked` inside the tool, PostToolUse, Stop, next prompt.
        #expect(run([(.executing, .hook), (.blocked, .explicit), (.thinking, .hook), (.waitingForInput, .hook), (.thinking, .hook)])
            == [.executing, .blocked, .blocked, .blocked, .thinking])
    }

    @Test("input typed by the host is new work and ends a hold")
    func hostInput() {
        #expect(run([(.blocked, .explicit), (.thinking, .host), (.waitingForInput, .hook)])
            == [.blocked, .thinking, .waitingForInput])
    }

    @Test("an update that says nothing new is not a change, so it cannot notify twice")
    func noChange() {
        var status = AgentStatusFile()
        ActivityRules.apply(ActivityUpdate(activity: .waitingForInput, message: "done"), from: .hook, to: &status, at: Date())
        ActivityRules.apply(ActivityUpdate(activity: .waitingForInput, message: "done"), from: .explicit, to: &status, at: Date())
        ActivityRules.apply(ActivityUpdate(activity: nil), from: .hook, to: &status, at: Date())
        #expect(status.changes == 1)
    }

    @Test("the status file keeps its offset, hold and notified change across a write and a read")
    func statusFileRoundTrip() throws {
        var status = AgentStatusFile()
        ActivityRules.apply(ActivityUpdate(activity: .blocked, message: "why"), from: .explicit, to: &status, at: Date())
        status.eventsOffset = 42
        status.notifiedChange = 1
        let data = try AgentStore.encoder.encode(status)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""activity" : "blocked""#) && text.contains(#""events_offset" : 42"#))
        let decoded = try AgentStore.decoder.decode(AgentStatusFile.self, from: data)
        #expect(decoded.current?.activity == .blocked && decoded.current?.message == "why")
        #expect(decoded.eventsOffset == 42 && decoded.notifiedChange == 1 && decoded.heldUntilTurnEnd && decoded.changes == 1)
    }
}
