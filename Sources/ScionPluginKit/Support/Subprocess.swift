import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program from an argv array (never through a shell) and collects
/// its output.
public enum Subprocess {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs `argv` (argv[0] is looked up on PATH) and waits for it.
    /// `environment` nil inherits this process's environment.
    public static func run(
        _ argv: [String], environment: [String: String]? = nil, input: Data? = nil,
        workingDirectory: String? = nil
    ) throws -> Output {
        precondition(!argv.isEmpty, "Subprocess.run needs a program")
        let stdinPipe = try makePipe(), stdoutPipe = try makePipe(), stderrPipe = try makePipe()
        let pipeEnds = [stdinPipe.read, stdinPipe.write, stdoutPipe.read, stdoutPipe.write, stderrPipe.read, stderrPipe.write]
        let pid: pid_t
        do {
            pid = try spawn(argv, environment: environment, workingDirectory: workingDirectory) { fileActions in
                posix_spawn_file_actions_adddup2(&fileActions, stdinPipe.read, 0)
                posix_spawn_file_actions_adddup2(&fileActions, stdoutPipe.write, 1)
                posix_spawn_file_actions_adddup2(&fileActions, stderrPipe.write, 2)
                for fd in pipeEnds { posix_spawn_file_actions_addclose(&fileActions, fd) }
            }
        } catch {
            pipeEnds.forEach { close($0) }
            throw error
        }
        close(stdinPipe.read)
        close(stdoutPipe.write)
        close(stderrPipe.write)

        let (stdout, stderr) = pump(input: input ?? Data(), stdin: stdinPipe.write, stdout: stdoutPipe.read, stderr: stderrPipe.read)
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) == -1 && errno == EINTR {}
        let exited = (waitStatus & 0x7f) == 0
        let status = exited ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)
        return Output(status: status, stdout: stdout, stderr: stderr)
    }

    /// Starts `argv` without waiting for it: stdin is /dev/null and its
    /// stdout goes to this process's stderr, so it never mixes into
    /// machine-readable output. Returns the pid; reap it with `reap()`, or
    /// leave it to init when this process ends first.
    public static func start(_ argv: [String], environment: [String: String]? = nil) throws -> pid_t {
        precondition(!argv.isEmpty, "Subprocess.start needs a program")
        return try spawn(argv, environment: environment, workingDirectory: nil) { fileActions in
            posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&fileActions, 2, 1)
        }
    }

    /// Starts `argv` in a session of its own, stdin from /dev/null, stdout
    /// and stderr appended to `logPath`: a daemon (the grove broker) that
    /// must not hold its starter's pipes open.
    public static func startDetached(_ argv: [String], environment: [String: String]?, logPath: String) throws -> pid_t {
        try spawn(argv, environment: environment, workingDirectory: "/") { fileActions in
            posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&fileActions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }
    }

    /// Starts `argv` with stdin from /dev/null (or from `standardInput`, a
    /// descriptor the caller keeps and closes) and stdout and stderr on
    /// pipes the caller reads (and closes); the caller waits for the pid.
    public static func startPiped(
        _ argv: [String], environment: [String: String]?, workingDirectory: String?, standardInput: Int32? = nil
    ) throws -> (pid: pid_t, stdout: Int32, stderr: Int32) {
        let stdoutPipe = try makePipe(), stderrPipe = try makePipe()
        let pid: pid_t
        do {
            pid = try spawn(argv, environment: environment, workingDirectory: workingDirectory) { fileActions in
                if let standardInput {
                    posix_spawn_file_actions_adddup2(&fileActions, standardInput, 0)
                } else {
                    posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
                }
                posix_spawn_file_actions_adddup2(&fileActions, stdoutPipe.write, 1)
                posix_spawn_file_actions_adddup2(&fileActions, stderrPipe.write, 2)
            }
        } catch {
            for descriptor in [stdoutPipe.read, stdoutPipe.write, stderrPipe.read, stderrPipe.write] { close(descriptor) }
            throw error
        }
        close(stdoutPipe.write)
        close(stderrPipe.write)
        return (pid, stdoutPipe.read, stderrPipe.read)
    }

    /// Collects every child started with `start` that has ended.
    public static func reap() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    /// posix_spawnp with the signal set-up every child needs; `redirect`
    /// adds the file actions for its standard streams.
    private static func spawn(
        _ argv: [String], environment: [String: String]?, workingDirectory: String?,
        redirect: (inout posix_spawn_file_actions_t) -> Void
    ) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        redirect(&fileActions)
        if let workingDirectory {
            spawnAddChdir(&fileActions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Swift's concurrency threads block every signal, and a spawned
        // child inherits the mask: without this a tmux server started from
        // an async command never sees SIGCHLD and loses its panes' exit status.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | spawnSetSID)

        let environmentStrings = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        var pid = pid_t()
        let spawnStatus = withCStrings(argv) { argvPointers in
            if let environmentStrings {
                return withCStrings(environmentStrings) { posix_spawnp(&pid, argv[0], &fileActions, &attributes, argvPointers, $0) }
            }
            return posix_spawnp(&pid, argv[0], &fileActions, &attributes, argvPointers, environ)
        }
        guard spawnStatus == 0 else {
            throw PluginError(.unavailable, "cannot run \(argv[0]): \(String(cString: strerror(spawnStatus)))")
        }
        return pid
    }

    /// Runs `argv` and returns its stdout, or throws with its stderr.
    @discardableResult
    public static func check(
        _ argv: [String], environment: [String: String]? = nil, input: Data? = nil,
        workingDirectory: String? = nil
    ) throws -> String {
        let output = try run(argv, environment: environment, input: input, workingDirectory: workingDirectory)
        guard output.status == 0 else {
            let reason = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw PluginError(.internal, "\(argv[0]) \(argv.dropFirst().first ?? "") failed (exit \(output.status))\(reason.isEmpty ? "" : ": \(reason)")")
        }
        return output.stdoutText
    }

    public static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
            throw PluginError(.internal, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    /// Feeds stdin and drains stdout and stderr together, so no pipe fills up.
    private static func pump(input: Data, stdin: Int32, stdout: Int32, stderr: Int32) -> (Data, Data) {
        var out = Data(), err = Data()
        var written = 0
        var inputOpen = true
        if input.isEmpty { close(stdin); inputOpen = false }
        var open: Set<Int32> = [stdout, stderr]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || inputOpen {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inputOpen { fds.append(pollfd(fd: stdin, events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdin {
                    let count = input.withUnsafeBytes { bytes in
                        write(stdin, bytes.baseAddress! + written, min(65536, input.count - written))
                    }
                    if count > 0 { written += count }
                    if count < 0 || written >= input.count {
                        close(stdin)
                        inputOpen = false
                    }
                    continue
                }
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if entry.fd == stdout { out.append(buffer, count: count) } else { err.append(buffer, count: count) }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    open.remove(entry.fd)
                }
            }
        }
        return (out, err)
    }
}

// GNU extensions that Swift's Glibc module does not import (glibc >= 2.29).
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnAddChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32
/// POSIX_SPAWN_SETSID from glibc's spawn.h: the child leads a new session,
/// so a terminal's signals (Ctrl-C) reach scion, not the tmux it started.
private let spawnSetSID: Int16 = 0x80

/// Calls `body` with a NULL-terminated C array of the strings.
public func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
