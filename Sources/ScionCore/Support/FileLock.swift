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

    /// Waits for the lock. A missing lock file (or folder) throws `.notFound`.
    public static func acquire(_ path: String, create: Bool = true) throws -> FileLock {
        let lock = try open(path, create: create)
        while flock(lock.fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw AtomicFile.posixError("cannot lock \(path)") }
        }
        return lock
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
        flock(fd, LOCK_UN)
        close(fd)
    }
}
