import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory whose contents someone else controls: an agent's home or
/// worktree, which the agent can rewrite at any moment, symbolic links
/// included. Every path below the root is walked one component at a time
/// with `openat(2)`: each parent with `O_DIRECTORY | O_NOFOLLOW`, the last
/// component with `O_NOFOLLOW`, so nothing the host reads, writes, creates
/// or removes there can lead outside the root, whatever the agent planted.
/// Reads accept regular files only (a FIFO would block the host, a device
/// would not be the agent's file). The root itself is the host's choice
/// and trusted (only its last component must not be a symbolic link).
public struct UntrustedDirectory: Sendable {
    public let root: String

    public init(_ root: String) {
        self.root = root
    }

    // MARK: reading

    /// The file's bytes; nil when it does not exist.
    public func read(_ relative: String) throws -> Data? {
        guard let handle = try openForReading(relative) else { return nil }
        defer { try? handle.close() }
        return handle.readDataToEndOfFile()
    }

    /// The file's text; nil when it does not exist or cannot be read safely
    /// (for best-effort reads such as an exit status).
    public func text(_ relative: String) -> String? {
        (try? read(relative)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A handle on the regular file `relative`, open for reading; nil when
    /// it does not exist.
    public func openForReading(_ relative: String) throws -> FileHandle? {
        guard let fd = try open(relative, flags: O_RDONLY | O_NONBLOCK) else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw refusal(relative, "is not a regular file")
        }
        // Back to blocking reads for the regular file it is.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// True when `relative` exists (as anything, a symbolic link included).
    public func exists(_ relative: String) -> Bool {
        lstatInfo(relative) != nil
    }

    /// The size of the regular file `relative`; 0 when it is missing or not
    /// a regular file.
    public func size(_ relative: String) -> UInt64 {
        guard let info = lstatInfo(relative), (info.st_mode & S_IFMT) == S_IFREG else { return 0 }
        return UInt64(info.st_size)
    }

    // MARK: writing

    /// Creates the directory `relative` and its missing parents (0755).
    public func createDirectory(_ relative: String) throws {
        let fd = try openDirectory(components(relative, allowEmpty: true), create: true, relative: relative)
        close(fd)
    }

    /// Replaces the file atomically: a temporary sibling (created with
    /// O_EXCL), then `renameat` over the name, which replaces a planted
    /// symbolic link itself rather than writing through it. Missing parent
    /// directories are created.
    public func write(_ relative: String, _ data: Data, mode: mode_t = 0o644) throws {
        let parts = try components(relative)
        let directory = try openDirectory(Array(parts.dropLast()), create: true, relative: relative)
        defer { close(directory) }
        let name = parts.last!
        let temporary = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot write", relative) }
        var ok = Self.writeAll(fd, data)
        ok = ok && fchmod(fd, mode) == 0
        close(fd)
        guard ok, renameat(directory, temporary, directory, name) == 0 else {
            let error = failure("cannot write", relative)
            unlinkat(directory, temporary, 0)
            throw error
        }
    }

    public func write(_ relative: String, _ text: String, mode: mode_t = 0o644) throws {
        try write(relative, Data(text.utf8), mode: mode)
    }

    /// Creates the symbolic link `relative` -> `target`, replacing a file
    /// or link of that name (never a directory).
    public func createSymbolicLink(_ relative: String, target: String) throws {
        let parts = try components(relative)
        let directory = try openDirectory(Array(parts.dropLast()), create: true, relative: relative)
        defer { close(directory) }
        if symlinkat(target, directory, parts.last!) != 0 {
            if errno == EEXIST, unlinkat(directory, parts.last!, 0) == 0, symlinkat(target, directory, parts.last!) == 0 {
                return
            }
            throw failure("cannot create the link", relative)
        }
    }

    /// Opens (creating it when missing) the regular file `relative` with
    /// `flags` (O_WRONLY | O_APPEND for a log, O_RDWR for a lock); the
    /// caller owns the descriptor.
    public func openFile(_ relative: String, flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let parts = try components(relative)
        let directory = try openDirectory(Array(parts.dropLast()), create: true, relative: relative)
        defer { close(directory) }
        let fd = openat(directory, parts.last!, flags | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == ELOOP { throw refusal(relative, "is a symbolic link") }
            throw failure("cannot open", relative)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw refusal(relative, "is not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Removes the file (or link) `relative`; nothing when it is missing.
    public func remove(_ relative: String) throws {
        let parts = try components(relative)
        let directory: Int32
        do {
            directory = try openDirectory(Array(parts.dropLast()), create: false, relative: relative)
        } catch let error as PluginError where error.code == .notFound {
            return
        }
        defer { close(directory) }
        guard unlinkat(directory, parts.last!, 0) == 0 || errno == ENOENT else {
            throw failure("cannot remove", relative)
        }
    }

    // MARK: plumbing

    /// Opens `relative` below the root without following any link; nil
    /// when it (or a parent) does not exist.
    func open(_ relative: String, flags: Int32) throws -> Int32? {
        let parts = try components(relative)
        let directory: Int32
        do {
            directory = try openDirectory(Array(parts.dropLast()), create: false, relative: relative)
        } catch let error as PluginError where error.code == .notFound {
            return nil
        }
        defer { close(directory) }
        let fd = openat(directory, parts.last!, flags | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            if errno == ELOOP { throw refusal(relative, "is a symbolic link") }
            throw failure("cannot open", relative)
        }
        return fd
    }

    private func lstatInfo(_ relative: String) -> stat? {
        guard let parts = try? components(relative),
              let directory = try? openDirectory(Array(parts.dropLast()), create: false, relative: relative)
        else { return nil }
        defer { close(directory) }
        var info = stat()
        return fstatat(directory, parts.last!, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    /// Walks `parts` from the root, one directory at a time, never through
    /// a link; with `create`, makes the missing ones. The caller closes the
    /// returned descriptor.
    private func openDirectory(_ parts: [String], create: Bool, relative: String) throws -> Int32 {
        var fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw PluginError(.notFound, "\(root) does not exist") }
            if errno == ELOOP || errno == ENOTDIR { throw refusal("", "is a symbolic link or not a directory") }
            throw PluginError(.internal, "cannot open \(root): \(String(cString: strerror(errno)))")
        }
        for (index, part) in parts.enumerated() {
            var next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, create {
                if mkdirat(fd, part, 0o755) != 0 && errno != EEXIST {
                    let error = failure("cannot create", parts[...index].joined(separator: "/"))
                    close(fd)
                    throw error
                }
                next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            close(fd)
            guard next >= 0 else {
                let partial = parts[...index].joined(separator: "/")
                if code == ENOENT { throw PluginError(.notFound, "\(root)/\(partial) does not exist") }
                if code == ELOOP || code == ENOTDIR { throw refusal(partial, "is a symbolic link or not a directory") }
                errno = code
                throw failure("cannot open", partial)
            }
            fd = next
        }
        return fd
    }

    /// The path's components; absolute paths and `..` are refused.
    private func components(_ relative: String, allowEmpty: Bool = false) throws -> [String] {
        let parts = relative.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !relative.hasPrefix("/"), !parts.contains(".."), allowEmpty || !parts.isEmpty,
              !relative.contains("\0")
        else {
            throw PluginError(.invalidArgument, "refusing the path \"\(relative)\": it is not inside \(root)")
        }
        return parts
    }

    /// The error for an entry that is not what the host may use: a planted
    /// link (or a file where a directory belongs) is never followed.
    public func refusal(_ relative: String, _ what: String) -> PluginError {
        let path = relative.isEmpty ? root : root + "/" + relative
        return PluginError(
            .permissionDenied,
            "refusing to use \(path): it \(what), which scion never follows in a folder the agent controls; remove it (or delete the agent) and try again",
            details: ["path": .string(path)])
    }

    private func failure(_ what: String, _ relative: String) -> PluginError {
        let code: PluginError.Code = errno == EACCES || errno == EPERM ? .permissionDenied : .internal
        return PluginError(code, "\(what) \(root)/\(relative): \(String(cString: strerror(errno)))")
    }

    private static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
    }
}
