import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One entry of a template's `home/` folder, as it is on disk: never
/// followed through a link. A link is kept only when its target stays
/// inside that `home/` folder; anything else (`/etc/shadow`, `../../x`) is
/// refused, so a template cannot copy a host file into an agent's home.
struct TemplateHomeEntry: Equatable {
    enum Kind: Equatable {
        case directory
        case file(mode: mode_t)
        case link(target: String)
    }

    var relative: String
    var kind: Kind

    /// Every entry below `root`, parents before children, sorted.
    static func entries(under root: String) throws -> [TemplateHomeEntry] {
        var info = stat()
        if lstat(root, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
            throw ScionError(
                .invalidSettings,
                "template folder \(root) is not a folder (a symbolic link?): scion never follows a link out of a template; make it a real folder")
        }
        var result: [TemplateHomeEntry] = []
        try walk(root: root, relative: "", into: &result)
        return result
    }

    private static func walk(root: String, relative: String, into result: inout [TemplateHomeEntry]) throws {
        let folder = relative.isEmpty ? root : root + "/" + relative
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        for name in names {
            let entry = relative.isEmpty ? name : relative + "/" + name
            let path = root + "/" + entry
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw ScionError(.failedPrecondition, "cannot read template file \(path): \(String(cString: strerror(errno)))")
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                result.append(TemplateHomeEntry(relative: entry, kind: .directory))
                try walk(root: root, relative: entry, into: &result)
            case S_IFREG:
                result.append(TemplateHomeEntry(relative: entry, kind: .file(mode: info.st_mode & 0o777)))
            case S_IFLNK:
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
                guard staysInside(link: entry, target: target) else {
                    throw ScionError(
                        .invalidSettings,
                        "template file \(path) is a symbolic link to \(target), outside the template's home folder \(root): scion copies template files as they are and never follows a link out of a template; put the file itself there")
                }
                result.append(TemplateHomeEntry(relative: entry, kind: .link(target: target)))
            default:
                throw ScionError(
                    .invalidSettings, "template file \(path) is neither a regular file, a folder nor a link: remove it from the template")
            }
        }
    }

    /// True when a relative `target` of the link at `link` (relative to
    /// the root) names a path inside the root, without going above it.
    static func staysInside(link: String, target: String) -> Bool {
        guard !target.hasPrefix("/"), !target.isEmpty else { return false }
        var stack = link.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !stack.isEmpty else { return false }
                stack.removeLast()
            default: stack.append(String(part))
            }
        }
        return true
    }

    /// The bytes of a regular file, opened without following a link (the
    /// walk saw a file; a swap since then is refused).
    static func readRegularFile(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? handle.close() }
        return handle.readDataToEndOfFile()
    }
}
