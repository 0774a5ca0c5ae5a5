import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// Claude Code's credentials. Detection order (first found wins):
/// vertex-ai (only when CLAUDE_CODE_USE_VERTEX is on, as Claude Code itself
/// then ignores every other credential), api-key, oauth-token,
/// credentials-file. A user's selection skips detection.
enum ClaudeAuth {
    static let adcFile = ".config/gcloud/application_default_credentials.json"

    static let methods = [
        AuthMethod(
            type: "api-key", description: "Anthropic API key from ANTHROPIC_API_KEY",
            env: ["ANTHROPIC_API_KEY"]),
        AuthMethod(
            type: "oauth-token",
            description: "Claude subscription token from CLAUDE_CODE_OAUTH_TOKEN (create one with `claude setup-token`)",
            env: ["CLAUDE_CODE_OAUTH_TOKEN"]),
        AuthMethod(
            type: "credentials-file",
            description: "Claude subscription login copied from ~/.claude/.credentials.json (or $CLAUDE_CONFIG_DIR)",
            env: ["CLAUDE_CONFIG_DIR"], files: [".claude/.credentials.json"]),
        AuthMethod(
            type: "vertex-ai",
            description: "Claude on Vertex AI: CLAUDE_CODE_USE_VERTEX=1, GOOGLE_CLOUD_PROJECT, CLOUD_ML_REGION "
                + "and application default credentials",
            env: [
                "CLAUDE_CODE_USE_VERTEX", "GOOGLE_CLOUD_PROJECT", "ANTHROPIC_VERTEX_PROJECT_ID", "CLOUD_ML_REGION",
                "GOOGLE_APPLICATION_CREDENTIALS",
            ],
            files: [adcFile]),
    ]

    /// Names used by Scion and by Claude Code's own docs.
    static let aliases = [
        "apikey": "api-key", "anthropic-api-key": "api-key", "oauth": "oauth-token", "token": "oauth-token",
        "auth-file": "credentials-file", "credentials": "credentials-file", "subscription": "credentials-file",
        "vertex": "vertex-ai",
    ]

    static func resolve(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        let host = HostEnvironment(request)
        let options = [
            AuthOption(
                type: "vertex-ai",
                howTo: "set CLAUDE_CODE_USE_VERTEX=1, GOOGLE_CLOUD_PROJECT (or ANTHROPIC_VERTEX_PROJECT_ID) and "
                    + "CLOUD_ML_REGION, and run `gcloud auth application-default login`",
                resolve: { selected in vertex(host, selected: selected) }),
            AuthOption(
                type: "api-key", howTo: "export ANTHROPIC_API_KEY",
                resolve: { _ in
                    host.value("ANTHROPIC_API_KEY").map {
                        ResolvedAuth(method: "api-key", env: ["ANTHROPIC_API_KEY": $0])
                    }
                }),
            AuthOption(
                type: "oauth-token", howTo: "run `claude setup-token` and export CLAUDE_CODE_OAUTH_TOKEN",
                resolve: { _ in
                    host.value("CLAUDE_CODE_OAUTH_TOKEN").map {
                        ResolvedAuth(method: "oauth-token", env: ["CLAUDE_CODE_OAUTH_TOKEN": $0])
                    }
                }),
            AuthOption(
                type: "credentials-file",
                howTo: "log in with `claude` (/login) so ~/.claude/.credentials.json exists "
                    + "(on macOS the login lives in the Keychain: use oauth-token instead)",
                resolve: { _ in
                    credentialsFile(host).map {
                        ResolvedAuth(
                            method: "credentials-file",
                            files: [FileCopy(source: $0, target: ".claude/.credentials.json", mode: 0o600)])
                    }
                }),
        ]
        let selected = request.selected ?? request.config.authSelectedType
        let auth = try AuthResolver.resolve(harness: "claude", selected: selected, options: options, aliases: aliases)
        if auth.method == "vertex-ai", auth.files.isEmpty {
            PluginLog.warning(
                "claude: vertex-ai without an application default credentials file; "
                    + "the agent relies on the metadata server (run `gcloud auth application-default login` otherwise)")
        }
        return auth
    }

    static func credentialsFile(_ host: HostEnvironment) -> String? {
        if let dir = host.value("CLAUDE_CONFIG_DIR"), let file = host.readableFile(dir + "/.credentials.json") {
            return file
        }
        return host.readableFile(".claude/.credentials.json")
    }

    /// Project and region are required; the application default
    /// credentials file is copied when there is one (on GCE, GKE or Cloud
    /// Run the metadata server stands in for it).
    static func vertex(_ host: HostEnvironment, selected: Bool) -> ResolvedAuth? {
        guard selected || host.isTrue("CLAUDE_CODE_USE_VERTEX"),
              let project = host.first(["ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT"])?.value,
              let region = host.first(["CLOUD_ML_REGION", "GOOGLE_CLOUD_REGION", "GOOGLE_CLOUD_LOCATION"])?.value
        else { return nil }
        var files: [FileCopy] = []
        if let adc = applicationDefaultCredentials(host) {
            files.append(FileCopy(source: adc, target: adcFile, mode: 0o600))
        }
        return ResolvedAuth(
            method: "vertex-ai",
            env: [
                "CLAUDE_CODE_USE_VERTEX": "1", "ANTHROPIC_VERTEX_PROJECT_ID": project,
                "GOOGLE_CLOUD_PROJECT": project, "CLOUD_ML_REGION": region,
            ],
            files: files)
    }

    static func applicationDefaultCredentials(_ host: HostEnvironment) -> String? {
        if let path = host.value("GOOGLE_APPLICATION_CREDENTIALS"), let file = host.readableFile(path) {
            return file
        }
        return host.readableFile(adcFile)
    }
}
