import Foundation
import ScionPluginKit
import ScionHarnessSupport

/// Gemini CLI's credentials. Detection order (first found wins): vertex-ai
/// (only when GOOGLE_GENAI_USE_VERTEXAI is on, which Gemini CLI itself
/// checks first), api-key (GEMINI_API_KEY, then GOOGLE_API_KEY), oauth-file.
/// A user's selection skips detection.
enum GeminiAuth {
    static let adcFile = ".config/gcloud/application_default_credentials.json"

    static let methods = [
        AuthMethod(
            type: "api-key", description: "Gemini API key from GEMINI_API_KEY (or GOOGLE_API_KEY)",
            env: ["GEMINI_API_KEY", "GOOGLE_API_KEY"]),
        AuthMethod(
            type: "oauth-file",
            description: "Login with Google, copied from ~/.gemini/oauth_creds.json (GOOGLE_CLOUD_PROJECT passed along)",
            env: ["GOOGLE_CLOUD_PROJECT"], files: [".gemini/oauth_creds.json"]),
        AuthMethod(
            type: "vertex-ai",
            description: "Vertex AI: GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION "
                + "(application default credentials), or GOOGLE_API_KEY (express mode)",
            env: [
                "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_API_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS",
            ],
            files: [adcFile]),
    ]

    /// Gemini CLI's own auth type names (security.auth.selectedType) and
    /// Scion's are accepted too.
    static let aliases = [
        "gemini-api-key": "api-key", "apikey": "api-key", "oauth-personal": "oauth-file", "oauth": "oauth-file",
        "login-with-google": "oauth-file", "auth-file": "oauth-file", "vertex": "vertex-ai",
    ]

    /// Our method name to Gemini CLI's auth type.
    static let authTypes = ["api-key": "gemini-api-key", "oauth-file": "oauth-personal", "vertex-ai": "vertex-ai"]

    static func resolve(_ request: ResolveAuthRequest) throws -> ResolvedAuth {
        let host = HostEnvironment(request)
        let options = [
            AuthOption(
                type: "vertex-ai",
                howTo: "set GOOGLE_GENAI_USE_VERTEXAI=true, GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION and run "
                    + "`gcloud auth application-default login` (or set GOOGLE_API_KEY for express mode)",
                resolve: { selected in vertex(host, selected: selected) }),
            AuthOption(
                type: "api-key", howTo: "export GEMINI_API_KEY (from Google AI Studio)",
                resolve: { _ in
                    host.first(["GEMINI_API_KEY", "GOOGLE_API_KEY"]).map {
                        ResolvedAuth(
                            method: "api-key",
                            env: ["GEMINI_API_KEY": $0.value, "GEMINI_DEFAULT_AUTH_TYPE": "gemini-api-key"])
                    }
                }),
            AuthOption(
                type: "oauth-file", howTo: "run `gemini` and choose Login with Google so ~/.gemini/oauth_creds.json exists",
                resolve: { _ in
                    host.readableFile(".gemini/oauth_creds.json").map { file in
                        var env = ["GEMINI_DEFAULT_AUTH_TYPE": "oauth-personal"]
                        if let project = host.value("GOOGLE_CLOUD_PROJECT") { env["GOOGLE_CLOUD_PROJECT"] = project }
                        return ResolvedAuth(
                            method: "oauth-file", env: env,
                            files: [FileCopy(source: file, target: ".gemini/oauth_creds.json", mode: 0o600)])
                    }
                }),
        ]
        let selected = request.selected ?? request.config.authSelectedType
        return try AuthResolver.resolve(harness: "gemini", selected: selected, options: options, aliases: aliases)
    }

    /// Gemini CLI accepts Vertex AI with a project and a location (and
    /// application default credentials), or with GOOGLE_API_KEY alone.
    static func vertex(_ host: HostEnvironment, selected: Bool) -> ResolvedAuth? {
        guard selected || host.isTrue("GOOGLE_GENAI_USE_VERTEXAI") else { return nil }
        var env = ["GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_DEFAULT_AUTH_TYPE": "vertex-ai"]
        var files: [FileCopy] = []
        let project = host.value("GOOGLE_CLOUD_PROJECT")
        let location = host.value("GOOGLE_CLOUD_LOCATION")
        let apiKey = host.value("GOOGLE_API_KEY")
        if let project, let location {
            env["GOOGLE_CLOUD_PROJECT"] = project
            env["GOOGLE_CLOUD_LOCATION"] = location
            if let adc = applicationDefaultCredentials(host) {
                files.append(FileCopy(source: adc, target: adcFile, mode: 0o600))
            }
        }
        if let apiKey { env["GOOGLE_API_KEY"] = apiKey }
        guard (project != nil && location != nil) || apiKey != nil else { return nil }
        return ResolvedAuth(method: "vertex-ai", env: env, files: files)
    }

    static func applicationDefaultCredentials(_ host: HostEnvironment) -> String? {
        if let path = host.value("GOOGLE_APPLICATION_CREDENTIALS"), let file = host.readableFile(path) {
            return file
        }
        return host.readableFile(adcFile)
    }

    /// Gemini CLI's `security.auth.selectedType` for the resolved method, or
    /// for the configured one when provision was not given the resolution.
    static func selectedType(auth: ResolvedAuth?, configured: String?) -> String? {
        if let method = auth?.method { return authTypes[method] }
        guard let configured = Text.nonEmpty(configured)?.lowercased() else { return nil }
        return authTypes[aliases[configured] ?? configured]
    }
}
