import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes (the docker CLI) started with posix_spawn and argv arrays, never a shell.
/// Every blocking call (waitpid, read, write) runs on a thread of its own, never on the
/// cooperative pool.
enum Subprocess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Output: Sendable {
        let status: Int32
        let stdout: Data
        let stderr: Data
        var text: String { String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        var errorText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Where the child's standard descriptors come from.
    enum Stdio {
        case descriptors(stdin: Int32, stdout: Int32, stderr: Int32)
        /// A new session whose controlling terminal is this pty slave (on 0, 1 and 2).
        case terminal(path: String)
    }

    private static let setsidFlag: Int16 = 0x80  // POSIX_SPAWN_SETSID (glibc)
    /// Held while descriptors are made and marked close-on-exec, and while spawning, so no
    /// child inherits a descriptor meant for another (pipe2 is not visible to Swift here).
    static let descriptorLock = NSLock()

    static func spawn(_ argv: [String], stdio: Stdio, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        switch stdio {
        case .descriptors(let i, let o, let e):
            posix_spawn_file_actions_adddup2(&actions, i, 0)
            posix_spawn_file_actions_adddup2(&actions, o, 1)
            posix_spawn_file_actions_adddup2(&actions, e, 2)
        case .terminal(let path):
            flags |= setsidFlag
            posix_spawn_file_actions_addopen(&actions, 0, path, O_RDWR, 0)
            posix_spawn_file_actions_adddup2(&actions, 0, 1)
            posix_spawn_file_actions_adddup2(&actions, 0, 2)
        }
        posix_spawnattr_setflags(&attributes, flags)
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        var rc: Int32
        descriptorLock.lock()
        defer { descriptorLock.unlock() }
        if environment.isEmpty {
            rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
        } else {
            var merged = ProcessInfo.processInfo.environment
            for (k, v) in environment { merged[k] = v }
            var cEnv = merged.map { strdup("\($0.key)=\($0.value)") }
            cEnv.append(nil)
            defer { for p in cEnv { free(p) } }
            rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        }
        guard rc == 0 else {
            throw Failure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// A pipe whose ends close on exec (the child gets its end through dup2).
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        descriptorLock.lock()
        defer { descriptorLock.unlock() }
        guard Glibc.pipe(&fds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    /// The exit status of a child: its exit code, or 128 + the signal that ended it.
    static func wait(_ pid: pid_t) async -> Int32 {
        await onThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            if status & 0x7f == 0 { return (status >> 8) & 0xff }
            return 128 + (status & 0x7f)
        }
    }

    /// Runs a blocking function on a new thread and awaits its result.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    /// The bytes read from a descriptor until end of file (or EIO from a pty whose
    /// slave side closed); the descriptor is closed at the end.
    static func chunks(of fd: Int32) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    continuation.yield(Array(buffer[0..<n]))
                }
                close(fd)
                continuation.finish()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Runs argv to its end and collects its output.
    static func run(_ argv: [String], input: Data? = nil, environment: [String: String] = [:]) async -> Output {
        do {
            let stdin = try pipe(), stdout = try pipe(), stderr = try pipe()
            let pid: pid_t
            do {
                pid = try spawn(argv, stdio: .descriptors(stdin: stdin.read, stdout: stdout.write, stderr: stderr.write), environment: environment)
            } catch {
                for fd in [stdin.read, stdin.write, stdout.read, stdout.write, stderr.read, stderr.write] { close(fd) }
                throw error
            }
            close(stdin.read); close(stdout.write); close(stderr.write)
            let bytes = Array(input ?? Data())
            let writer = stdin.write
            Thread {
                _ = writeAll(writer, bytes)
                close(writer)
            }.start()
            async let out = collect(stdout.read)
            async let err = collect(stderr.read)
            let status = await wait(pid)
            return Output(status: status, stdout: await out, stderr: await err)
        } catch {
            return Output(status: 127, stdout: Data(), stderr: Data("\(error)".utf8))
        }
    }

    private static func collect(_ fd: Int32) async -> Data {
        var data = Data()
        for await chunk in chunks(of: fd) { data.append(contentsOf: chunk) }
        return data
    }
}

/// A pseudo-terminal pair; the master stays here, the slave goes to the child by path.
struct PseudoTerminal {
    let master: Int32
    let slavePath: String

    init() throws {
        let fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard fd >= 0, ioctl(fd, 0x4004_5431, &unlock) == 0, ioctl(fd, 0x8004_5430, &number) == 0 else {
            throw Subprocess.Failure(description: "cannot allocate a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        master = fd
        slavePath = "/dev/pts/\(number)"
    }

    func resize(width: UInt16, height: UInt16) {
        var size = winsize(ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
    }
}
