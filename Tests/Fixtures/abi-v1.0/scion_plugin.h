/*
 * scion_plugin.h — the whole contract between the scion host and its plugins.
 *
 * ABI version 1. Plain C99; no Swift, C++ or host types cross this boundary.
 *
 * ----------------------------------------------------------------------------
 * 1. Discovery and loading
 * ----------------------------------------------------------------------------
 * A plugin is a folder holding a manifest `plugin.json` and a shared library:
 *
 *   { "name": "local", "kind": "runtime", "abi_versions": [1],
 *     "library": "libScionRuntimeLocal.so", "description": "..." }
 *
 * The host reads the manifest first and dlopen()s the library (RTLD_NOW |
 * RTLD_LOCAL) only when a command needs that plugin. Libraries are never
 * dlclose()d. The library exports exactly one function, a function symbol
 * whose name carries the ABI version:
 *
 *   int32_t scion_plugin_entry_v1(const scion_host_api *host,
 *                                 scion_plugin_api *plugin);
 *
 * ----------------------------------------------------------------------------
 * 2. Version negotiation
 * ----------------------------------------------------------------------------
 * `host->abi_version` is the highest ABI version the host speaks. The plugin
 * writes the version it will use into `plugin->abi_version` (at most the
 * host's) and returns SCION_OK, or writes the version it speaks and returns
 * SCION_ERR_ABI_MISMATCH. The host refuses a plugin whose answer is outside
 * what it speaks and names the file and both versions.
 *
 * ----------------------------------------------------------------------------
 * 3. Struct evolution
 * ----------------------------------------------------------------------------
 * Every struct that crosses begins with `uint32_t struct_size`, set by the
 * side that allocated it to sizeof() as it knows it. Structs only ever grow
 * at the end. A reader must not touch a field that lies beyond the
 * struct_size it was given; a writer must not write beyond it. So an old
 * plugin works with a new host and the reverse.
 *
 * ----------------------------------------------------------------------------
 * 4. Calls and payloads
 * ----------------------------------------------------------------------------
 * Every operation goes through one function, `plugin->call`, named by an
 * operation string (see section 8). Requests and responses are UTF-8 JSON
 * objects carrying "schema_version": 1. Unknown fields must be ignored by
 * the reader, so payloads can grow without a new ABI version. An unknown
 * operation is answered with SCION_ERR_UNSUPPORTED.
 *
 * ----------------------------------------------------------------------------
 * 5. Ownership (the one rule)
 * ----------------------------------------------------------------------------
 * Memory handed from host to plugin (request bytes, strings, the host table)
 * is borrowed: valid only until the call returns; the plugin copies what it
 * keeps. Memory handed from plugin to host (`scion_buffer.data` of a
 * response, on success or error) is allocated with `host->alloc` and is
 * owned and freed by the host. Event bytes passed to a stream callback are
 * borrowed by the host for the duration of the callback. Strings in
 * `scion_plugin_api` (name) are static for the life of the process.
 *
 * ----------------------------------------------------------------------------
 * 6. Errors
 * ----------------------------------------------------------------------------
 * `call` returns a scion_status. On any status other than SCION_OK the
 * response buffer, if non-empty, holds a JSON error:
 *   { "schema_version": 1, "code": "not_found", "message": "...",
 *     "details": { ... } }
 * Nothing may unwind, throw or abort across this boundary: a plugin written
 * in a language with exceptions catches everything at its exported edge.
 *
 * ----------------------------------------------------------------------------
 * 7. Threads
 * ----------------------------------------------------------------------------
 * The host serializes calls into one plugin instance: no two `call`s on the
 * same instance overlap. Host functions (alloc, log, and the stream
 * callback) are thread-safe and may be called from any thread, but only
 * during the call that received them.
 *
 * Streaming (log follow, pull progress) happens inside a single `call`: the
 * plugin invokes `stream->on_event(stream->context, json, len)` for each
 * event. A non-zero return from on_event asks the plugin to stop early and
 * return SCION_OK.
 *
 * ----------------------------------------------------------------------------
 * 8. Operations, ABI v1 (payload shapes: docs/plugins.md)
 * ----------------------------------------------------------------------------
 * Every kind:  "describe"
 * runtime:     "capabilities", "run", "stop", "delete", "list", "status",
 *              "logs", "exec", "attach_argv", "image_exists", "image_pull",
 *              "sync"
 * harness:     "resolve_auth", "provision", "normalize_hook"
 */
#ifndef SCION_PLUGIN_H
#define SCION_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCION_PLUGIN_ABI_VERSION 1
#define SCION_PLUGIN_ENTRY_SYMBOL "scion_plugin_entry_v1"
#define SCION_PAYLOAD_SCHEMA_VERSION 1

/* Status codes. New codes may be added; treat an unknown one as internal. */
typedef enum scion_status {
  SCION_OK = 0,
  SCION_ERR_INVALID_ARGUMENT = 1,
  SCION_ERR_NOT_FOUND = 2,
  SCION_ERR_ALREADY_EXISTS = 3,
  SCION_ERR_UNSUPPORTED = 4,
  SCION_ERR_UNAVAILABLE = 5,
  SCION_ERR_PERMISSION_DENIED = 6,
  SCION_ERR_FAILED_PRECONDITION = 7,
  SCION_ERR_ABI_MISMATCH = 8,
  SCION_ERR_INTERNAL = 9
} scion_status;

typedef enum scion_log_level {
  SCION_LOG_TRACE = 0,
  SCION_LOG_DEBUG = 1,
  SCION_LOG_INFO = 2,
  SCION_LOG_WARNING = 3,
  SCION_LOG_ERROR = 4
} scion_log_level;

/* A byte buffer written by the plugin. `data` comes from host->alloc. */
typedef struct scion_buffer {
  uint32_t struct_size;
  uint8_t *data;
  size_t length;
} scion_buffer;

/* Called by the plugin for each streamed event; non-zero return = stop. */
typedef int32_t (*scion_event_fn)(void *context, const uint8_t *event_json,
                                  size_t length);

typedef struct scion_stream {
  uint32_t struct_size;
  scion_event_fn on_event; /* may be NULL: the caller wants no events */
  void *context;
} scion_stream;

/* The host's functions, passed to the entry point. */
typedef struct scion_host_api {
  uint32_t struct_size;
  uint32_t abi_version; /* highest ABI version the host speaks */
  void *context;        /* pass back to log() */
  /* Allocates response memory the host will own and free. NULL on failure. */
  void *(*alloc)(size_t size);
  /* Writes one log line through the host's logger (never to stdout). */
  void (*log)(void *context, int32_t level, const char *message,
              size_t length);
} scion_host_api;

typedef int32_t (*scion_call_fn)(void *instance, const char *operation,
                                 const uint8_t *request, size_t request_length,
                                 const scion_stream *stream,
                                 scion_buffer *response);

/* Filled in by the plugin's entry point. The host zeroes it and sets
 * struct_size before the call. */
typedef struct scion_plugin_api {
  uint32_t struct_size;
  uint32_t abi_version; /* the version the plugin will use (or speaks) */
  const char *name;     /* static, matches the manifest's name */
  void *instance;       /* passed back as the first argument of call */
  scion_call_fn call;
} scion_plugin_api;

typedef int32_t (*scion_plugin_entry_fn)(const scion_host_api *host,
                                         scion_plugin_api *plugin);

/* The one symbol a plugin exports. */
int32_t scion_plugin_entry_v1(const scion_host_api *host,
                              scion_plugin_api *plugin);

#ifdef __cplusplus
}
#endif

#endif /* SCION_PLUGIN_H */
