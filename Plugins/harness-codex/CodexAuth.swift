import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// Codex CLI's credentials. Detection order (first found wins): api-key
/// (OPENAI_API_KEY, then CODEX_API_KEY), auth-file. A user's selection skips
/// detection.
enum CodexAuth {
    static let methods = [
        AuthMethod(
            type: "api-key", description: "OpenAI API key from OPENAI_API_KEY (or CODEX_API_KEY)",
            env: ["OPENAI_API_KEY", "CODEX_API_KEY"]),
        AuthMethod(
            type: "auth-file",
            description: "ChatGPT (or stored API key) login copied from ~/.codex/auth.json (or $CODEX_HOME/auth.json)",
            env: ["CODEX_HOME"], files: [".codex/auth.json"]),
    ]

    static let aliases = [
        "apikey": "api-key", "openai-api-key": "api-key", "chatgpt": "auth-file", "login": "auth-file",
        "credentials-file": "auth-file", "oauth": "auth-file",
    ]

    static func resolve(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        let host = HostEnvironment(request)
        let options = [
            AuthOption(
                type: "api-key", howTo: "export OPENAI_API_KEY",
                resolve: { _ in
                    host.first(["OPENAI_API_KEY", "CODEX_API_KEY"]).map {
                        ResolvedAuth(method: "api-key", env: ["OPENAI_API_KEY": $0.value])
                    }
                }),
            AuthOption(
                type: "auth-file", howTo: "run `codex login` so ~/.codex/auth.json exists",
                resolve: { _ in
                    authFile(host).map {
                        ResolvedAuth(
                            method: "auth-file", files: [FileCopy(source: $0, target: ".codex/auth.json", mode: 0o600)])
                    }
                }),
        ]
        let selected = request.selected ?? request.config.authSelectedType
        return try AuthResolver.resolve(harness: "codex", selected: selected, options: options, aliases: aliases)
    }

    static func authFile(_ host: HostEnvironment) -> String? {
        if let dir = host.value("CODEX_HOME"), let file = host.readableFile(dir + "/auth.json") { return file }
        return host.readableFile(".codex/auth.json")
    }

    /// The interactive Codex CLI does not read OPENAI_API_KEY by itself; it
    /// reads the key `codex login --with-api-key` stores in auth.json. With
    /// api-key auth, provision writes that file (secret, 0600).
    static func authJSON(_ auth: ResolvedAuth?) throws -> HomeFile? {
        guard let auth, auth.method == "api-key", let key = Text.nonEmpty(auth.env["OPENAI_API_KEY"]) else { return nil }
        return HomeFile(
            path: ".codex/auth.json", content: try JSONText.render(.object(["OPENAI_API_KEY": .string(key)])),
            mode: 0o600)
    }
}
