import Foundation

/// Plugins written in plain C, compiled with `cc` by the tests: the proof
/// that the ABI is language-neutral, and the broken plugins the host must
/// refuse.
public enum FixturePlugins {
    /// The header a fixture is compiled from.
    public enum Header: Sendable {
        /// The frozen 1.0 header (Tests/Fixtures/abi-v1.0): short structs,
        /// as a plugin built before revision 1.1 has them.
        case v1_0
        /// Today's header: the long structs of revision 1.1.
        case current

        public var folder: String {
            switch self {
            case .v1_0: return BuildProducts.packageRoot + "/Tests/Fixtures/abi-v1.0"
            case .current: return BuildProducts.packageRoot + "/Sources/ScionPluginABI/include"
            }
        }
    }

    public static let header = Header.current.folder

    /// Builds `lib<name>.so` and its `plugin.json` in `folder`, compiled
    /// against `header` (the frozen 1.0 one unless a test asks for today's).
    /// The plugin answers operations from `responses` (operation -> JSON),
    /// claims `abiVersion` during negotiation (or runs `negotiation`), and its
    /// manifest lists `manifestVersions`. `prelude` (C at file scope), `calls`
    /// (statements at the top of `call`) and `entryTail` (statements at the
    /// end of the entry point) add behaviour.
    public static func buildCPlugin(
        in folder: String, name: String, kind: String, abiVersion: Int = 1, manifestVersions: [Int] = [1],
        responses: [String: String] = [:], exportEntry: Bool = true, constructorMarker: String? = nil,
        header: Header = .v1_0, prelude: String = "", calls: String = "", negotiation: String? = nil,
        entryTail: String = ""
    ) throws {
        // The 1.0 way: the host's highest version, and one version of its own.
        let negotiation = negotiation ?? "  plugin->abi_version = \(abiVersion);\n  if (host->abi_version < \(abiVersion)) return SCION_ERR_ABI_MISMATCH;"
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

            \(prelude)

            static int32_t call(void *instance, const char *operation, const uint8_t *request,
                                size_t request_length, const scion_stream *stream, scion_buffer *response) {
              (void)instance; (void)request; (void)request_length; (void)stream;
            \(calls)
            \(cases)
              return answer(response, "{\\"schema_version\\":1,\\"code\\":\\"unsupported\\",\\"message\\":\\"the C fixture has no such operation\\"}",
                            SCION_ERR_UNSUPPORTED);
            }

            int32_t \(exportEntry ? "scion_plugin_entry_v1" : "scion_plugin_entry_v0")(const scion_host_api *host, scion_plugin_api *plugin) {
            \(negotiation)
              host_alloc = host->alloc;
              plugin->name = \(cString(name));
              plugin->instance = NULL;
              plugin->call = call;
            \(entryTail)
              return SCION_OK;
            }
            """
        let sourcePath = folder + "/plugin.c"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try Shell.check(["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-I", header.folder, "-o", folder + "/lib\(name).so", sourcePath])
        try manifest(in: folder, name: name, kind: kind, versions: manifestVersions)
    }

    public static func manifest(
        in folder: String, name: String, kind: String, versions: [Int], library: String? = nil, files: [String]? = nil
    ) throws {
        var object: [String: Any] = [
            "name": name, "kind": kind, "abi_versions": versions, "library": library ?? "lib\(name).so",
            "description": "test fixture",
        ]
        object["files"] = files
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: folder + "/plugin.json"))
    }

    /// A C string literal for `text`.
    public static func cString(_ text: String) -> String {
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
