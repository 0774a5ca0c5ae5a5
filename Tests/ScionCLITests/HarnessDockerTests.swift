import Foundation
import ScionTestSupport
import Testing

/// The same harness scenarios in real docker containers (image
/// scion-test:latest, the stand-ins mounted through a profile volume): the
/// proof that the static `scion-agent` runs inside a container and that
/// credentials reach only their own agent there too. A docker that does not
/// answer fails these tests; SCION_TEST_ENGINES=0 excludes them on purpose.
@Suite(
    "harnesses on the docker runtime", .serialized,
    .enabled(if: TestRuntime.enginesEnabled, "SCION_TEST_ENGINES=0 excludes container engine tests"))
struct HarnessDockerTests {
    @Test("claude goes thinking, executing, waiting_for_input, blocked and completed inside a container")
    func claudeStatusCycle() throws {
        try HarnessScenarios.statusCycle(.docker, harness: "claude")
    }

    @Test("gemini's hooks reach the host from inside a container")
    func geminiStatusCycle() throws {
        try HarnessScenarios.statusCycle(.docker, harness: "gemini")
    }

    @Test("each container gets only its own harness's credentials")
    func credentialIsolation() throws {
        try HarnessScenarios.credentialIsolation(.docker)
    }

    @Test("inside a container, scion is the static scion-agent: status works, other commands go to the grove broker")
    func scionInsideContainer() throws {
        let (sandbox, _) = try TestRuntime.docker.sandbox()
        try sandbox.check("config", "set", "harness_configs.shell.image", TestRuntime.testImage)
        let script = """
            ldd "$(command -v scion-agent)" > "$HOME/ldd.txt" 2>&1
            scion start helper "do it" 2> "$HOME/start.txt"; echo "start:$?" >> "$HOME/result.txt"
            scion status ask_user "which way?"; echo "status:$?" >> "$HOME/result.txt"
            sleep 60
            """
        try sandbox.check("start", "inner", "--harness", "shell", script)
        let home = HarnessScenarios.home(sandbox, "inner")
        #expect(Shell.eventually(timeout: 30) { (try? String(contentsOfFile: home + "/result.txt", encoding: .utf8))?.contains("status:") == true })
        #expect(try String(contentsOfFile: home + "/result.txt", encoding: .utf8) == "start:0\nstatus:0\n",
                "\((try? String(contentsOfFile: home + "/start.txt", encoding: .utf8)) ?? "")")
        #expect(try sandbox.agent("helper")?["parent"] as? String == "inner")
        #expect(try String(contentsOfFile: home + "/ldd.txt", encoding: .utf8).contains("not a dynamic executable"))
        HarnessScenarios.expectActivity(sandbox, "inner", "waiting_for_input", message: "which way?")
    }
}
