import Dispatch
import ScionCommands

/// A synchronous main that waits for the CLI's task, instead of Swift's
/// async main: that one ends in `dispatch_main`, whose signal thread calls
/// `sigsuspend` with a mask in read-only memory, and valgrind (3.19), which
/// writes into that mask, crashes there, so scion could not run under
/// valgrind at all. Nothing in scion runs on the main actor.
@main
struct Scion {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await ScionCLI.main()
        }
        finished.wait()
    }
}
