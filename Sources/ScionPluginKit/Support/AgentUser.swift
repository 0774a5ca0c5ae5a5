import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The user an agent's processes run as in a container or pod: the
/// `runtimes.<name>.run_as_user` setting ("uid" or "uid:gid"), the same key
/// with the same meaning on docker, podman and kubernetes.
public enum AgentUser {
    /// The runtime option naming the agent's uid (and gid).
    public static let optionKey = "run_as_user"
    /// USER and LOGNAME of an agent given a uid other than the host user's:
    /// the name scion's images and test image give uid 1000 (docs/images.md).
    public static let defaultName = "scion"

    /// "1000" (gid = uid) or "1000:1000"; nil for anything else.
    public static func parse(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            let uid = UInt32(parts[0]), uid != UInt32.max
        else { return nil }
        guard parts.count == 2 else { return (uid, uid) }
        guard let gid = UInt32(parts[1]), gid != UInt32.max else { return nil }
        return (uid, gid)
    }

    /// Gives `root` and everything below it to uid:gid, never following a
    /// symbolic link (the agent may have planted some: the link itself
    /// changes owner, not what it points at) and never leaving the folder
    /// (a mount point below it is left alone). Entries already owned are
    /// skipped, so a second call costs one `lstat` per entry. A regular
    /// file with more than one hard link is left alone too: its other name
    /// may be outside the folder.
    public static func giveOwnership(of root: String, uid: UInt32, gid: UInt32) throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw failure("cannot open \(root)", errno)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw failure("cannot read \(root)", errno)
        }
        if info.st_uid != uid || info.st_gid != gid, fchown(fd, uid, gid) != 0 {
            let error = errno
            close(fd)
            throw failure("cannot give \(root) to uid \(uid):\(gid)", error)
        }
        try giveEntries(of: fd, path: root, device: info.st_dev, uid: uid, gid: gid)
    }

    /// Takes ownership of `fd` (closes it).
    private static func giveEntries(of fd: Int32, path: String, device: dev_t, uid: UInt32, gid: UInt32) throws {
        guard let stream = fdopendir(fd) else {
            let error = errno
            close(fd)
            throw failure("cannot list \(path)", error)
        }
        defer { closedir(stream) }
        for name in AgentHomeDirectory.entryNames(stream) {
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_dev == device else { continue }
            let kind = info.st_mode & S_IFMT
            if kind == S_IFREG && info.st_nlink > 1 { continue }
            if info.st_uid != uid || info.st_gid != gid, fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 {
                throw failure("cannot give \(path)/\(name) to uid \(uid):\(gid)", errno)
            }
            guard kind == S_IFDIR else { continue }
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else { throw failure("cannot open \(path)/\(name)", errno) }
            try giveEntries(of: child, path: path + "/" + name, device: device, uid: uid, gid: gid)
        }
    }

    public static func failure(_ what: String, _ error: Int32) -> PluginError {
        let hint = error == EPERM ? " (only root can give files to another user: set run_as_user to your own uid, or leave it unset)" : ""
        return PluginError(.permissionDenied, "\(what): \(String(cString: strerror(error)))\(hint)")
    }
}
