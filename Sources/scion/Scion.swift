import ScionCommands
#if canImport(Glibc)
import Glibc
#endif

/// A synchronous main instead of Swift's async main, which ends in
/// `dispatch_main`: its signal thread waits in `sigsuspend` with a mask in
/// read-only memory, and valgrind (3.19), which writes into that mask,
/// crashed there, so scion could not run under valgrind at all. The main
/// thread does what dispatch_main's did (the command runs as a task and
/// exits the process): it waits for signals with none blocked, so a
/// SIGTERM to a process that inherited a blocked mask still ends it, with
/// the mask in writable memory. Nothing in scion runs on the main actor.
@main
struct Scion {
    static func main() {
        Task.detached {
            await ScionCLI.main()
        }
        var none = sigset_t()
        sigemptyset(&none)
        while true { sigsuspend(&none) }
    }
}
