import Foundation

/// Finds, creates and deletes templates: the grove's
/// (`.scion/templates/<name>/`) win over the user's
/// (`~/.scion/templates/<name>/`), and the built-in `default` is the base
/// layer of every agent.
public struct TemplateStore: Sendable {
    /// `.scion/templates` of the grove, if there is one.
    public let groveTemplates: String?
    /// `~/.scion/templates`.
    public let globalTemplates: String
    /// `~/.scion`, where the trust store lives.
    let globalDirectory: String

    public init(grove: Grove?, globalDirectory: String) {
        globalTemplates = globalDirectory + "/templates"
        self.globalDirectory = globalDirectory
        groveTemplates = grove.map(\.templatesDirectory).flatMap { $0 == globalDirectory + "/templates" ? nil : $0 }
    }

    public init(context: ScionContext) {
        self.init(grove: try? context.grove(), globalDirectory: context.globalDirectory)
    }

    private var folders: [(source: Template.Source, directory: String)] {
        (groveTemplates.map { [(Template.Source.grove, $0)] } ?? []) + [(.global, globalTemplates)]
    }

    /// The template a user means by `name`: the grove's, else the global
    /// one, else the built-in default; nil when there is none.
    public func find(_ name: String) throws -> Template? {
        for (source, directory) in folders {
            let folder = directory + "/" + name
            if Self.isDirectory(folder) {
                var template = try Template.load(name: name, source: source, directory: folder)
                if source == .grove {
                    template.trusted = GroveTrust.isTrusted(templateDirectory: folder, store: TrustStore(globalDirectory: globalDirectory))
                }
                return template
            }
        }
        return name == BuiltInTemplate.defaultName ? BuiltInTemplate.defaultTemplate : nil
    }

    /// The template, or an error listing the ones that exist.
    public func require(_ name: String) throws -> Template {
        if let template = try find(name) { return template }
        throw ScionError(
            .notFound,
            "no template named \"\(name)\"; templates: \(names().joined(separator: ", ")) (create one with `scion templates create \(name)`)")
    }

    /// Every template a name resolves to, sorted by name.
    public func all() throws -> [Template] {
        try names().compactMap { try find($0) }
    }

    public func names() -> [String] {
        var names: Set<String> = [BuiltInTemplate.defaultName]
        for (_, directory) in folders {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            names.formUnion(entries.filter { !$0.hasPrefix(".") && Self.isDirectory(directory + "/" + $0) })
        }
        return names.sorted()
    }

    /// The layers an agent started from `name` gets: the built-in default,
    /// the user's `default` if any, then `name` itself.
    public func layers(_ name: String) throws -> TemplateLayers {
        var layers = [BuiltInTemplate.defaultTemplate]
        if let userDefault = try find(BuiltInTemplate.defaultName), userDefault.source != .builtIn {
            layers.append(userDefault)
        }
        if name != BuiltInTemplate.defaultName {
            layers.append(try require(name))
        }
        return TemplateLayers(name: name, layers: layers)
    }

    /// Creates a template folder in the grove (or with `global`, in
    /// ~/.scion): a copy of the template `from`, or empty files to fill in
    /// (scion-agent.yaml with every key explained, agents.md,
    /// system-prompt.md, home/).
    @discardableResult
    public func create(
        _ name: String, global: Bool, from: String? = nil, description: String? = nil, harnessConfig: String? = nil
    ) throws -> Template {
        try AgentName.validate(name, kind: "template")
        guard let base = global ? globalTemplates : groveTemplates else {
            throw ScionError(.notInGrove, "not in a scion grove: run `scion init` first, or pass --global to create the template in ~/.scion/templates")
        }
        let folder = base + "/" + name
        if Self.isDirectory(folder) {
            throw ScionError(.alreadyExists, "template \(name) already exists at \(folder)")
        }
        let manager = FileManager.default
        try manager.createDirectory(atPath: base, withIntermediateDirectories: true)
        let store = TrustStore(globalDirectory: globalDirectory)
        if let from {
            let source = try require(from)
            guard let directory = source.directory else {
                throw ScionError(.invalidArgument, "the built-in default template is every agent's base layer already; create \(name) without --from")
            }
            guard description == nil, harnessConfig == nil else {
                throw ScionError(.invalidArgument, "with --from, edit the copy's \(Template.configFile) instead of passing --description or --harness")
            }
            try manager.copyItem(atPath: directory, toPath: folder)
            // A copy is as trusted as what it was copied from.
            if !global, source.trusted {
                try store.update(trust: GroveTrust.filesUnder(folder).compactMap { path in GroveTrust.content(path).map { (path, $0) } })
            }
        } else {
            try manager.createDirectory(atPath: folder + "/" + Template.homeFolder, withIntermediateDirectories: true)
            try AtomicFile.write(Self.configText(description: description, harnessConfig: harnessConfig), to: folder + "/" + Template.configFile)
            try AtomicFile.write("", to: folder + "/" + Template.instructionsFile)
            try AtomicFile.write("", to: folder + "/" + Template.systemPromptFile)
            if !global {
                try store.update(trust: GroveTrust.filesUnder(folder).compactMap { path in GroveTrust.content(path).map { (path, $0) } })
            }
        }
        return try Template.load(name: name, source: global ? .global : .grove, directory: folder)
    }

    /// Removes a template folder from the grove (or with `global`, from ~/.scion).
    @discardableResult
    public func delete(_ name: String, global: Bool) throws -> String {
        if name == BuiltInTemplate.defaultName, try find(name)?.source == .builtIn {
            throw ScionError(.invalidArgument, "the built-in default template cannot be deleted")
        }
        guard let base = global ? globalTemplates : groveTemplates else {
            throw ScionError(.notInGrove, "not in a scion grove: pass --global to delete from ~/.scion/templates")
        }
        let folder = base + "/" + name
        guard Self.isDirectory(folder) else {
            let elsewhere = global ? "" : (Self.isDirectory(globalTemplates + "/" + name) ? " (there is one in ~/.scion/templates: add --global)" : "")
            throw ScionError(.notFound, "no template named \(name) in \(base)\(elsewhere)")
        }
        try FileManager.default.removeItem(atPath: folder)
        return folder
    }

    static func configText(description: String?, harnessConfig: String?) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ") + "\""
        }
        return """
            # scion template (docs/templates.md). Beside this file: agents.md (instructions,
            # added after the default ones; {{agent}}, {{branch}} and {{grove}} are filled in),
            # system-prompt.md, and home/ (files copied into the agent's home).
            \(description.map { "description: \(quoted($0))" } ?? "# description: what agents of this role do")
            \(harnessConfig.map { "default_harness_config: \(quoted($0))" } ?? "# default_harness_config: claude   # used when --harness is not given")
            # model: opus                       # for that harness config only
            # env: { EXAMPLE: value }           # below the profile's and harness config's env
            # volumes: [ "data:/data:ro" ]      # relative sources are inside this folder

            """
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
