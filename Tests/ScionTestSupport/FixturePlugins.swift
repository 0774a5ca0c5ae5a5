import Foundation

/// Plugins written in plain C, compiled with `cc` by the tests: the proof
/// that the ABI is language-neutral, and the broken plugins the host must
/// refuse.
public enum FixturePlugins {
    public static let header = BuildProducts.packageRoot + "/Sources/ScionPluginABI/include"

    /// Builds `lib<name>.so` and its `plugin.json` in `folder`. The plugin
    /// answers operations from `responses` (operation -> JSON), claims
    /// `abiVersion` during negotiation, and its manifest lists `manifestVersions`.
    public static func buildCPlugin(
        in folder: String, name: String, kind: String, abiVersion: Int = 1, manifestVersions: [Int] = [1],
        responses: [String: String] = [:], exportEntry: Bool = true, constructorMarker: String? = nil
    ) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cases = responses.keys.sorted().map { operation in
            "  if (strcmp(operation, \(cString(operation))) == 0) return answer(response, \(cString(responses[operation]!)), SCION_OK);"
        }.joined(separator: "\n")
        // A constructor runs at dlopen, before any ABI call: the marker proves a library was loaded at all.
        let constructor = constructorMarker.map {
            "#include <stdio.h>\n__attribute__((constructor)) static void loaded(void) { FILE *f = fopen(\(cString($0)), \"w\"); if (f) fclose(f); }\n"
        } ?? ""
        let source = """
            #include <stdlib.h>
            #include <string.h>
            #include "scion_plugin.h"
            \(constructor)

            static void *(*host_alloc)(size_t);

            static int32_t answer(scion_buffer *response, const char *json, int32_t status) {
              size_t length = strlen(json);
              response->data = host_alloc(length);
              memcpy(response->data, json, length);
              response->length = length;
              return status;
            }

            static int32_t call(void *instance, const char *operation, const uint8_t *request,
                                size_t request_length, const scion_stream *stream, scion_buffer *response) {
              (void)instance; (void)request; (void)request_length; (void)stream;
            \(cases)
              return answer(response, "{\\"schema_version\\":1,\\"code\\":\\"unsupported\\",\\"message\\":\\"the C fixture has no such operation\\"}",
                            SCION_ERR_UNSUPPORTED);
            }

            int32_t \(exportEntry ? "scion_plugin_entry_v1" : "scion_plugin_entry_v0")(const scion_host_api *host, scion_plugin_api *plugin) {
              plugin->abi_version = \(abiVersion);
              if (host->abi_version < \(abiVersion)) return SCION_ERR_ABI_MISMATCH;
              host_alloc = host->alloc;
              plugin->name = \(cString(name));
              plugin->instance = NULL;
              plugin->call = call;
              return SCION_OK;
            }
            """
        let sourcePath = folder + "/plugin.c"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try Shell.check(["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-I", header, "-o", folder + "/lib\(name).so", sourcePath])
        try manifest(in: folder, name: name, kind: kind, versions: manifestVersions)
    }

    public static func manifest(in folder: String, name: String, kind: String, versions: [Int], library: String? = nil) throws {
        let object: [String: Any] = [
            "name": name, "kind": kind, "abi_versions": versions, "library": library ?? "lib\(name).so",
            "description": "test fixture",
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: folder + "/plugin.json"))
    }

    /// A C string literal for `text`.
    static func cString(_ text: String) -> String {
        var literal = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": literal += "\\\""
            case "\\": literal += "\\\\"
            case "\n": literal += "\\n"
            default: literal.unicodeScalars.append(scalar)
            }
        }
        return literal + "\""
    }

    /// A working harness in C: it runs `command` and needs no credentials.
    public static func cHarnessResponses(name: String, command: [String]) throws -> [String: String] {
        let argv = String(decoding: try JSONSerialization.data(withJSONObject: command), as: UTF8.self)
        return [
            "describe": #"{"plugin":{"schema_version":1,"name":"\#(name)","kind":"harness","version":"1.0","description":"C fixture"},"auth_methods":[],"interrupt_key":"C-c","supports_resume":false}"#,
            "resolve_auth": #"{"method":"none","env":{},"files":[]}"#,
            "provision": #"{"command":\#(argv),"env":{"FROM_C_PLUGIN":"yes"},"files":[{"path":"c-plugin.txt","content":"written by C\n","mode":420}]}"#,
            "normalize_hook": #"{}"#,
        ]
    }
}
