import Foundation
import Logging

/// A harness-independent role an agent starts from: a folder
/// (`.scion/templates/<name>/` or `~/.scion/templates/<name>/`) holding
/// `scion-agent.yaml` (description, default harness config, model, env,
/// volumes), `agents.md` (instructions), `system-prompt.md` and `home/`
/// (files copied into the agent home). Every file is optional.
public struct Template: Sendable, Equatable {
    public enum Source: String, Sendable, Codable {
        case grove, global
        case builtIn = "built-in"
    }

    public var name: String
    public var source: Source
    /// The template's folder; nil for the built-in default.
    public var directory: String?
    public var description: String?
    /// The harness config used when `--harness` is not given.
    public var harnessConfig: String?
    public var model: String?
    public var env: [String: String]
    /// `source:/target[:ro]`; a relative source is made absolute against
    /// the template's folder.
    public var volumes: [String]
    /// agents.md: may use {{agent}}, {{branch}} and {{grove}}.
    public var instructions: String?
    public var systemPrompt: String?
    /// False for a grove template whose files the user has not trusted
    /// (`scion trust`); see RepositoryTrust.
    public var trusted: Bool = true
    /// False when its `home/` must not be copied (an untrusted template of
    /// a host-process agent).
    public var copiesHome: Bool = true

    public static let configFile = "scion-agent.yaml"
    public static let instructionsFile = "agents.md"
    public static let systemPromptFile = "system-prompt.md"
    public static let homeFolder = "home"

    /// The folder whose files are copied into the agent home, if any.
    public var homeDirectory: String? {
        guard let directory, copiesHome else { return nil }
        var isDirectory: ObjCBool = false
        let home = directory + "/" + Self.homeFolder
        // A `home` that is a link is not followed (entries(under:) refuses it).
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: home)) != nil { return home }
        return FileManager.default.fileExists(atPath: home, isDirectory: &isDirectory) && isDirectory.boolValue ? home : nil
    }

    /// The files under `home/`, relative to it, sorted.
    public var homeFiles: [String] {
        guard let home = homeDirectory else { return [] }
        return AgentHome.regularFiles(under: home)
    }

    /// Reads the template in `directory`; errors name the file and line.
    static func load(name: String, source: Source, directory: String) throws -> Template {
        var template = Template(
            name: name, source: source, directory: directory, env: [:], volumes: [],
            instructions: read(directory + "/" + instructionsFile), systemPrompt: read(directory + "/" + systemPromptFile))
        let configPath = directory + "/" + configFile
        if let text = read(configPath) {
            let node = try SettingsParser.parse(text, source: configPath)
            for warning in SettingsSchema.template.unknownKeys(in: node) {
                Logger(label: "scion.templates").warning("\(warning)")
            }
            let reader = SettingsReader(node, path: "")
            template.description = try reader.string("description")
            template.harnessConfig = try reader.string("default_harness_config") ?? reader.string("harness_config")
            template.model = try reader.string("model")
            template.env = try reader.stringMap("env")
            let items = node["volumes"]?.items ?? []
            template.volumes = try (reader.strings("volumes") ?? []).enumerated().map { index, volume in
                // A relative source is inside the template's folder, and stays there.
                let parts = volume.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { return volume }
                let origin = index < items.count ? items[index].origin.description : configPath
                let source = try VolumeSource.resolve(parts[0], base: directory) { "\(origin): volumes" }
                return source + ":" + parts[1]
            }
        }
        return template
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}

/// As `scion templates list/show --format json` print it.
extension Template: Encodable {
    enum CodingKeys: String, CodingKey {
        case name, source, directory, description, harnessConfig = "default_harness_config", model, env, volumes
        case instructions, systemPrompt = "system_prompt", homeFiles = "home_files", trusted
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(source, forKey: .source)
        try container.encodeIfPresent(directory, forKey: .directory)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(harnessConfig, forKey: .harnessConfig)
        try container.encodeIfPresent(model, forKey: .model)
        try container.encode(env, forKey: .env)
        try container.encode(volumes, forKey: .volumes)
        try container.encodeIfPresent(instructions, forKey: .instructions)
        try container.encodeIfPresent(systemPrompt, forKey: .systemPrompt)
        try container.encode(homeFiles, forKey: .homeFiles)
        try container.encode(trusted, forKey: .trusted)
    }
}

/// The layers an agent's template resolves to: the built-in default, the
/// user's own `default` if there is one, then the chosen template. Later
/// layers win; instructions add up.
public struct TemplateLayers: Sendable {
    public var name: String
    public var layers: [Template]

    /// The chosen template's own layer (the last one).
    public var chosen: Template { layers[layers.count - 1] }

    public var harnessConfig: String? { layers.lazy.reversed().compactMap(\.harnessConfig).first }
    public var systemPrompt: String? {
        layers.lazy.reversed().compactMap(\.systemPrompt).first { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }
    public var env: [String: String] { layers.reduce(into: [:]) { $0.merge($1.env) { $1 } } }
    public var volumes: [String] { layers.flatMap(\.volumes) }
    public var homeDirectories: [String] { layers.compactMap(\.homeDirectory) }

    /// The model, when it belongs to the harness config in use: a template
    /// that names a harness config meant its model for that config only.
    public func model(forHarnessConfig config: String) -> String? {
        for layer in layers.reversed() where layer.model != nil {
            return layer.harnessConfig == nil || layer.harnessConfig == config ? layer.model : nil
        }
        return nil
    }

    /// Every layer's agents.md, joined, with {{agent}}, {{branch}} and
    /// {{grove}} filled in.
    public func instructions(agent: String, branch: String?, grove: String) -> String {
        layers.compactMap(\.instructions)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
            .joined(separator: "\n\n")
            .replacingOccurrences(of: "{{agent}}", with: agent)
            .replacingOccurrences(of: "{{branch}}", with: branch ?? "(none)")
            .replacingOccurrences(of: "{{grove}}", with: grove) + "\n"
    }
}
