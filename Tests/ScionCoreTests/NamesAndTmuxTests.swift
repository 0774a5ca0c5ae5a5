import ScionCore
import ScionPluginKit
import Testing

@Suite("agent names and tmux arguments")
struct NamesAndTmuxTests {
    @Test("names that could escape a folder, a branch or a shell are refused", arguments: [
        "a/b", "..", "a..b", "has space", "semi;colon", "$(id)", "`id`", "-x", ".hidden", "x.lock", "", String(repeating: "a", count: 64), "naïve",
    ])
    func invalidNames(name: String) {
        #expect(throws: ScionError.self) { try AgentName.validate(name) }
    }

    @Test("ordinary names are accepted", arguments: ["web", "api-2", "Fix_Login", "v1.2", "a"])
    func validNames(name: String) throws {
        try AgentName.validate(name)
    }

    @Test("a refused name suggests its slug")
    func suggestion() {
        let error = #expect(throws: ScionError.self) { try AgentName.validate("Fix Login") }
        #expect(error?.message.contains("try \"fix-login\"") == true)
    }

    @Test("tmux reads an argument ending in ';' as a command separator, so it is escaped", arguments: [
        ("make test;", "make test\\;"), ("a;b", "a;b"), (";", "\\;"), ("plain", "plain"), ("x\\;", "x\\\\;"),
    ])
    func tmuxEscape(argument: String, escaped: String) {
        #expect(Tmux.escape(argument) == escaped)
    }

    @Test("the session's command line is the fixed wrapper: the harness argv never reaches tmux's command line")
    func newSessionArguments() {
        let arguments = Tmux.newSession(SessionLayout(), workdir: "/w", detached: true)
        let separator = arguments.firstIndex(of: "--")!
        let wrapper = Tmux.harnessWrapper.count
        #expect(Array(arguments[(separator + 1)...(separator + wrapper)]) == Tmux.harnessWrapper)
        #expect(arguments[separator + wrapper + 1] == ";")
        #expect(arguments.contains("pipe-pane"))
        #expect(arguments.contains("new-window"))
        #expect(arguments[..<separator].contains("-d"))
        #expect(arguments.joined().utf8.count < 2_000)
    }
}
