import Foundation
import ScionPluginKit
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a file (flock), held by this process until released
/// or until the process dies, so a killed command never leaves a lock behind.
public final class FileLock: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// What this process writes into the lock files it holds, so that one
    /// waiting for it can say who holds it (`scion stop`). Set once, at
    /// start, by the CLI; only the command's name, never its arguments.
    nonisolated(unsafe) public static var holderCommand = "scion"

    /// How long `acquire` waits by default: `SCION_LOCK_TIMEOUT` seconds, else 30.
    public static var defaultTimeout: Double {
        ProcessInfo.processInfo.environment["SCION_LOCK_TIMEOUT"].flatMap(Double.init).flatMap { $0 >= 0 ? $0 : nil } ?? 30
    }

    /// Waits for the lock, at most `timeout` seconds (nil: the default),
    /// then fails with a sentence naming `subject` ("agent web") and the
    /// process that holds it. A missing lock file (or folder) throws `.notFound`.
    public static func acquire(_ path: String, create: Bool = true, timeout: Double? = nil, subject: String? = nil) throws -> FileLock {
        let lock = try open(path, create: create)
        let limit = timeout ?? defaultTimeout
        let deadline = Date().addingTimeInterval(limit)
        var pause: useconds_t = 2_000
        while flock(lock.fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw AtomicFile.posixError("cannot lock \(path)") }
            guard Date() < deadline else {
                throw ScionError(.failedPrecondition, busyMessage(path: path, subject: subject, waited: limit))
            }
            usleep(pause)
            pause = min(pause * 2, 100_000)
        }
        lock.writeHolder()
        return lock
    }

    /// Who holds the lock at `path`, as its holder wrote it.
    public struct Holder: Sendable, Equatable {
        public var pid: Int32
        public var command: String
        public var since: Date
    }

    public static func holder(of path: String) -> Holder? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return nil }
        let fields = text.trimmingCharacters(in: .newlines).components(separatedBy: "\t")
        guard fields.count == 3, let pid = Int32(fields[0]), let since = Double(fields[2]) else { return nil }
        return Holder(pid: pid, command: fields[1], since: Date(timeIntervalSince1970: since))
    }

    static func busyMessage(path: String, subject: String?, waited: Double) -> String {
        let what = subject ?? path
        let seconds = waited.rounded() == waited ? String(Int(waited)) : String(format: "%.1f", waited)
        let by: String
        if let holder = holder(of: path) {
            let held = max(0, Int(Date().timeIntervalSince(holder.since).rounded()))
            by = "by \(TerminalText.line(holder.command)), pid \(holder.pid), for \(held) s"
        } else {
            by = "by another process"
        }
        return "\(what) is locked \(by); gave up after waiting \(seconds) s: try again when it has finished (SCION_LOCK_TIMEOUT sets the wait in seconds)"
    }

    /// Records this process as the holder, in the lock file itself (no
    /// other file appears next to it).
    private func writeHolder() {
        let line = "\(getpid())\t\(Self.holderCommand.replacingOccurrences(of: "\t", with: " "))\t\(Date().timeIntervalSince1970)\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Takes the lock if nobody holds it; nil when another process does.
    public static func tryAcquire(_ path: String, create: Bool = true) throws -> FileLock? {
        let lock = try open(path, create: create)
        guard flock(lock.fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
        return lock
    }

    /// Waits for the lock on `relative` inside a folder someone else
    /// controls (an agent's home): opened without following any link.
    public static func acquire(_ relative: String, in directory: UntrustedDirectory) throws -> FileLock {
        let lock = FileLock(fd: try directory.openFile(relative, flags: O_RDWR), path: directory.root + "/" + relative)
        while flock(lock.fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw AtomicFile.posixError("cannot lock \(lock.path)") }
        }
        return lock
    }

    private static func open(_ path: String, create: Bool) throws -> FileLock {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0o644)
        guard fd >= 0 else {
            if errno == ENOENT { throw ScionError(.notFound, "lock file \(path) does not exist") }
            throw AtomicFile.posixError("cannot open lock file \(path)")
        }
        return FileLock(fd: fd, path: path)
    }

    /// True while `path` still names the file this lock holds: false once
    /// the file (or its folder) was removed or renamed away and perhaps made
    /// anew, when whatever the lock guarded is gone.
    public var isStillAtPath: Bool {
        var held = stat()
        var current = stat()
        guard fstat(fd, &held) == 0, stat(path, &current) == 0 else { return false }
        return held.st_dev == current.st_dev && held.st_ino == current.st_ino
    }

    deinit {
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
