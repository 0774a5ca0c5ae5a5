import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader sees the old content or the new one, never
/// half of either: write a sibling temporary file, rename over. That is
/// what makes a killed command safe. `durable` adds an fsync first, for what
/// the user wrote (settings, trust). Agent records skip it: an fsync after a
/// worktree checkout flushes the whole checkout (tens of ms on every start),
/// git itself does not fsync by default, and after a power cut `list` and
/// `doctor` reconcile an older record with what is really there.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw posixError("cannot write \(path)") }
        var ok = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 { if errno == EINTR { continue }; return false }
                offset += count
            }
            return true
        }
        ok = ok && fchmod(fd, mode) == 0 && (!durable || fsync(fd) == 0)
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let error = posixError("cannot write \(path)")
            unlink(temporary)
            throw error
        }
    }

    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        try write(Data(text.utf8), to: path, mode: mode, durable: durable)
    }

    static func posixError(_ context: String) -> ScionError {
        let code: ScionError.Code = errno == EACCES || errno == EPERM ? .permissionDenied : .internal
        return ScionError(code, "\(context): \(String(cString: strerror(errno)))")
    }
}
