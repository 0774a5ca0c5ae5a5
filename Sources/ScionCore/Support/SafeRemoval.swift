import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Removes files and folder trees inside one boundary folder, and nowhere
/// else. It walks from the boundary with directory handles (`openat` with
/// `O_NOFOLLOW | O_DIRECTORY`) and `unlinkat`, so a symlink is removed as a
/// link and never followed, a parent swapped for a symlink stops the walk,
/// and the removal never leaves the boundary's file system. Use it for
/// every folder an agent could have written into: what it plants there
/// (symlinks, hard links, read-only folders) cannot redirect the removal.
public struct SafeRemoval: Sendable {
    /// The boundary, with its symlinks resolved.
    public let boundary: String

    /// `boundary` must exist; it is resolved once, here.
    public init(inside boundary: String) throws {
        guard let resolved = Self.resolve(boundary) else {
            throw AtomicFile.posixError("cannot remove anything inside \(boundary)")
        }
        self.boundary = resolved
    }

    /// Removes `path` (a file, a symlink or a whole folder tree). The path
    /// must lie strictly inside the boundary once its parent folders are
    /// resolved; otherwise nothing is removed and the call throws. Returns
    /// false when there was nothing to remove.
    @discardableResult
    public func remove(_ path: String) throws -> Bool {
        let components = try relativeComponents(path)
        let root = open(boundary, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw AtomicFile.posixError("cannot open \(boundary)") }
        var rootStat = stat()
        guard fstat(root, &rootStat) == 0 else {
            close(root)
            throw AtomicFile.posixError("cannot read \(boundary)")
        }
        // Walk down to the parent of the target, refusing any symlink.
        var parent = root
        defer { close(parent) }
        for component in components.dropLast() {
            let next = openat(parent, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 {
                if errno == ENOENT { return false }
                if errno == ELOOP || errno == ENOTDIR {
                    throw ScionError(.permissionDenied, "refusing to remove \(path): \(component) on its way is not a folder (a symlink?)")
                }
                throw AtomicFile.posixError("cannot open \(component) on the way to \(path)")
            }
            close(parent)
            parent = next
        }
        var context = Walk(device: rootStat.st_dev, top: path)
        return try context.removeEntry(parent, components.last!)
    }

    /// `path` as names under the boundary, its parents resolved.
    private func relativeComponents(_ path: String) throws -> [String] {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standardized = (absolute as NSString).standardizingPath
        let name = (standardized as NSString).lastPathComponent
        let parentPath = (standardized as NSString).deletingLastPathComponent
        guard !name.isEmpty, name != "/", name != ".", name != ".." else {
            throw ScionError(.invalidArgument, "refusing to remove \(path): not a removable path")
        }
        guard let parent = Self.resolve(parentPath) else {
            // A missing parent means there is nothing to remove; anything
            // else (a loop, no permission) is an error.
            if errno == ENOENT || errno == ENOTDIR { return try relativeComponentsOfMissing(parentPath, name) }
            throw AtomicFile.posixError("cannot resolve \(parentPath)")
        }
        let resolved = parent == "/" ? "/" + name : parent + "/" + name
        guard resolved.hasPrefix(boundary + "/") else {
            throw ScionError(.permissionDenied, "refusing to remove \(path): it is not inside \(boundary)")
        }
        return resolved.dropFirst(boundary.count + 1).split(separator: "/").map(String.init)
    }

    /// A path whose parent does not exist: allowed (and a no-op) only when
    /// it would lie inside the boundary.
    private func relativeComponentsOfMissing(_ parentPath: String, _ name: String) throws -> [String] {
        guard (parentPath + "/").hasPrefix(boundary + "/") else {
            throw ScionError(.permissionDenied, "refusing to remove \(parentPath)/\(name): it is not inside \(boundary)")
        }
        return (parentPath + "/" + name).dropFirst(boundary.count + 1).split(separator: "/").map(String.init)
    }

    static func resolve(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// One recursive removal: stays on one device, never follows a link.
    private struct Walk {
        let device: dev_t
        let top: String

        /// Removes `name` inside the folder `parent`; false if it was not there.
        mutating func removeEntry(_ parent: Int32, _ name: String) throws -> Bool {
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { return false }
                throw AtomicFile.posixError("cannot remove \(name) in \(top)")
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                guard info.st_dev == device else {
                    throw ScionError(.failedPrecondition, "refusing to remove \(top): \(name) inside it is another file system (a mount point); unmount it first")
                }
                try emptyFolder(parent, name)
                if unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                    throw AtomicFile.posixError("cannot remove folder \(name) in \(top)")
                }
            } else if unlinkat(parent, name, 0) != 0 {
                if errno == ENOENT { return false }
                throw AtomicFile.posixError("cannot remove \(name) in \(top)")
            }
            return true
        }

        private mutating func emptyFolder(_ parent: Int32, _ name: String) throws {
            var fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 && errno == EACCES {
                // A folder made unreadable (chmod 000): it is ours, so open it
                // up, through a handle on the folder itself (O_PATH), so a
                // folder swapped for a symlink meanwhile changes nothing else.
                let handle = openat(parent, name, 0o10000000 /* O_PATH */ | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if handle >= 0 {
                    _ = chmod("/proc/self/fd/\(handle)", 0o700)
                    close(handle)
                }
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard fd >= 0 else {
                if errno == ENOENT { return }
                if errno == ELOOP || errno == ENOTDIR {
                    throw ScionError(.failedPrecondition, "cannot remove \(top): \(name) changed while it was being removed")
                }
                throw AtomicFile.posixError("cannot open folder \(name) in \(top)")
            }
            // Read-only folders (a Go module cache, chmod -w) need write
            // permission for their entries to go; fchmod acts on this very
            // folder, never on a link's target.
            var info = stat()
            if fstat(fd, &info) == 0, info.st_mode & 0o700 != 0o700 {
                _ = fchmod(fd, (info.st_mode & 0o7777) | 0o700)
            }
            guard let directory = fdopendir(fd) else {
                close(fd)
                throw AtomicFile.posixError("cannot read folder \(name) in \(top)")
            }
            defer { closedir(directory) }
            let directoryFD = dirfd(directory)
            var names: [String] = []
            while let entry = readdir(directory) {
                let entryName = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
                }
                if entryName != "." && entryName != ".." { names.append(entryName) }
            }
            for entryName in names {
                _ = try removeEntry(directoryFD, entryName)
            }
        }
    }
}
