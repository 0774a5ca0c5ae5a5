import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the harness argv reaches the agent window without passing through
/// tmux's command line (which holds about 16 KB, and through a container
/// engine's API): the runtime writes each argument into its own file in the
/// agent home's `launchPath` folder, and the session runs the fixed
/// `Tmux.harnessWrapper`, which reads them back, byte for byte, as "$@".
///
/// The agent home is the agent's ground (it may have planted symbolic
/// links): the files are written relative to directory handles opened
/// without following links, and an entry in the way is removed, never
/// followed.
public enum HarnessLaunch {
    /// Relative to HOME: the folder holding the argv, one file per
    /// argument, named 0, 1, 2...
    public static let launchPath = ".scion/launch"
    /// Inside `launchPath`: environment variables for the harness, one file
    /// per variable named after it, holding its value byte for byte (mode
    /// 0600). Container runtimes put the run spec's secret env here rather
    /// than in the container's spec, where `docker inspect` would show it.
    public static let environmentFolder = "env"
    /// Relative to HOME: the agent's task, byte for byte (mode 0600).
    public static let taskPath = ".scion/task"

    /// The longest single argument Linux passes to a program
    /// (MAX_ARG_STRLEN, 32 pages of 4 KB, less the terminating NUL).
    public static let maxArgumentBytes = 131_071

    /// Whether `argument` can be passed to a program as one argv element.
    public static func fitsInArgument(_ argument: String) -> Bool {
        argument.utf8.count <= maxArgumentBytes
    }

    /// Writes `command` (and `environment`, see `environmentFolder`) into
    /// `home`'s launch folder, replacing what an earlier launch left there.
    public static func write(_ command: [String], home: String) throws {
        try write(command, home: home, environment: [:])
    }

    public static func write(_ command: [String], home: String, environment: [String: String]) throws {
        guard !command.isEmpty else { throw PluginError(.invalidArgument, "the harness command is empty") }
        for (index, argument) in command.enumerated() where argument.utf8.contains(0) {
            throw PluginError(.invalidArgument, "argument \(index) of the harness command holds a NUL byte, which no program can receive")
        }
        let folder = try AgentHomeDirectory(home: home).replaceDirectory(launchPath)
        defer { close(folder) }
        for (index, argument) in command.enumerated() {
            try AgentHomeDirectory.writeFile(Data(argument.utf8), named: String(index), in: folder, mode: 0o600)
        }
        guard !environment.isEmpty else { return }
        let variables = try AgentHomeDirectory(home: home).replaceDirectory(launchPath + "/" + environmentFolder)
        defer { close(variables) }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            guard isShellName(name) else {
                throw PluginError(.invalidArgument, "the variable name \(name) cannot be exported by a shell: use letters, digits and _")
            }
            guard !value.utf8.contains(0) else {
                throw PluginError(.invalidArgument, "the variable \(name) holds a NUL byte, which no program can receive")
            }
            try AgentHomeDirectory.writeFile(Data(value.utf8), named: name, in: variables, mode: 0o600)
        }
    }

    /// A name `export` takes: a letter or _, then letters, digits and _.
    static func isShellName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}

/// Files in an agent home written without following symbolic links.
public struct AgentHomeDirectory {
    public let home: String

    public init(home: String) {
        self.home = home
    }

    /// Writes `data` to `relative` (inside a folder of the home that is
    /// created if missing), atomically: a temporary file then a rename, both
    /// relative to the folder's handle.
    public func write(_ data: Data, to relative: String, mode: mode_t = 0o600) throws {
        let parts = try components(relative)
        let folder = try openDirectory(parts.dropLast(), create: true)
        defer { close(folder) }
        let temporary = ".\(parts.last!).\(getpid()).tmp"
        unlinkat(folder, temporary, 0)
        try Self.writeFile(data, named: temporary, in: folder, mode: mode)
        guard renameat(folder, temporary, folder, parts.last!) == 0 else {
            let error = errno
            unlinkat(folder, temporary, 0)
            throw Self.failure("cannot write \(home)/\(relative)", error)
        }
    }

    /// Removes the file `relative` if it is there (a link is removed, not followed).
    public func remove(_ relative: String) throws {
        let parts = try components(relative)
        guard let folder = try? openDirectory(parts.dropLast(), create: false) else { return }
        defer { close(folder) }
        if unlinkat(folder, parts.last!, 0) != 0, errno != ENOENT {
            throw Self.failure("cannot remove \(home)/\(relative)", errno)
        }
    }

    /// Empties the folder `relative` (creating it if missing; anything else
    /// in its place is removed) and returns a handle to it.
    /// Removes the folder `name` in `parent` and the files in it (not
    /// following links; a folder inside it makes this fail).
    static func removeFlatFolder(_ name: String, in parent: Int32) -> Bool {
        let folder = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard folder >= 0, let stream = fdopendir(folder) else { return false }
        for entryName in entryNames(stream) { unlinkat(folder, entryName, 0) }
        closedir(stream)
        return unlinkat(parent, name, AT_REMOVEDIR) == 0
    }

    /// The names in a directory stream, without "." and "..".
    static func entryNames(_ stream: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(stream) {
            let entryName = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        return names
    }

    func replaceDirectory(_ relative: String) throws -> Int32 {
        let parts = try components(relative)
        let parent = try openDirectory(parts.dropLast(), create: true)
        defer { close(parent) }
        let name = parts.last!
        var folder = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if folder < 0 {
            unlinkat(parent, name, 0)
            if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
                throw Self.failure("cannot create \(home)/\(relative)", errno)
            }
            folder = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard folder >= 0 else { throw Self.failure("cannot open \(home)/\(relative)", errno) }
        }
        // Remove what an earlier launch left (unlinkat never follows links).
        let listing = dup(folder)
        if listing >= 0, let stream = fdopendir(listing) {
            let names = Self.entryNames(stream)
            closedir(stream)
            // A folder (the previous launch's environment folder) goes with its files.
            for entryName in names
            where unlinkat(folder, entryName, 0) != 0 && errno != ENOENT
                && !((errno == EISDIR || errno == EPERM) && Self.removeFlatFolder(entryName, in: folder)) {
                close(folder)
                throw Self.failure("cannot clear \(home)/\(relative)/\(entryName)", errno)
            }
        }
        return folder
    }

    /// Creates `name` in the folder (it must not exist) and writes `data`.
    static func writeFile(_ data: Data, named name: String, in folder: Int32, mode: mode_t) throws {
        let fd = openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create \(name)", errno) }
        defer { close(fd) }
        fchmod(fd, mode)
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write \(name)", errno)
                }
                offset += written
            }
        }
    }

    private func components(_ relative: String) throws -> [String] {
        let parts = relative.split(separator: "/").map(String.init)
        guard !relative.hasPrefix("/"), !parts.isEmpty, !parts.contains(".."), !parts.contains(".") else {
            throw PluginError(.invalidArgument, "\"\(relative)\" is not a path inside the agent home")
        }
        return parts
    }

    /// Opens the home, then each folder below it, never following a link.
    private func openDirectory(_ parts: ArraySlice<String>, create: Bool) throws -> Int32 {
        var current = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw Self.failure("cannot open the agent home \(home)", errno) }
        var path = home
        for part in parts {
            path += "/" + part
            if create { mkdirat(current, part, 0o755) }
            let next = openat(current, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let error = errno
            close(current)
            guard next >= 0 else {
                throw Self.failure(
                    error == ELOOP || error == ENOTDIR
                        ? "refusing to write through \(path): it is not a folder (the agent may have replaced it with a link)"
                        : "cannot open \(path)", error)
            }
            current = next
        }
        return current
    }

    static func failure(_ what: String, _ error: Int32) -> PluginError {
        PluginError(.failedPrecondition, "\(what): \(String(cString: strerror(error)))")
    }
}
