/// The bottom settings layer. The embedded default runs agents as local
/// processes with the generic `shell` harness config, so nothing needs an
/// image, an engine or an API key.
enum BuiltInSettings {
    static let yaml = """
    schema_version: "1"
    active_profile: local
    default_harness_config: shell
    default_template: default
    image_registry: ""
    runtimes:
      local:
        type: local
      docker:
        type: docker
        host: ""
      podman:
        type: podman
        host: ""
      kubernetes:
        type: kubernetes
        context: ""
        namespace: ""
    profiles:
      local:
        runtime: local
      docker:
        runtime: docker
      podman:
        runtime: podman
      remote:
        runtime: kubernetes
    harness_configs:
      shell:
        harness: generic
        args: ["sh", "-c"]
      generic:
        harness: generic
      claude:
        harness: claude
        image: scion-claude:latest
      gemini:
        harness: gemini
        image: scion-gemini:latest
      codex:
        harness: codex
        image: scion-codex:latest
    """
}
