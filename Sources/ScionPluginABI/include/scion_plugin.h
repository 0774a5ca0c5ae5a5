/*
 * scion_plugin.h — the whole contract between the scion host and its plugins.
 *
 * Plugin ABI 1, final (revision 1.1). Plain C99; no Swift, C++ or host types
 * cross this boundary. Revision 1.1 only appends fields to the structs of
 * the 1.0 draft and defines what was left open; a plugin built against the
 * 1.0 header loads and works unchanged (the tests build their C fixtures
 * from a frozen copy of it: Tests/Fixtures/abi-v1.0/scion_plugin.h).
 * Payload shapes: docs/plugins.md and the JSON Schemas in docs/schemas/.
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
 * RTLD_LOCAL) only when a command needs that plugin; a manifest that lists
 * no version the host speaks is refused before anything is opened.
 * Libraries are never dlclose()d. The library exports exactly one function:
 *
 *   int32_t scion_plugin_entry_v1(const scion_host_api *host,
 *                                 scion_plugin_api *plugin);
 *
 * The host calls it once per process, on one thread.
 *
 * ----------------------------------------------------------------------------
 * 2. Version negotiation (a range)
 * ----------------------------------------------------------------------------
 * The host offers the range of ABI versions it speaks:
 * `host->abi_version_min` .. `host->abi_version` (a 1.0 host has no
 * abi_version_min: read it as 1 when host->struct_size does not cover it).
 * The plugin chooses one version inside both that range and its own, the
 * highest it can, writes it into `plugin->abi_version` and returns SCION_OK.
 * When the ranges do not meet it writes the highest version it speaks and
 * returns SCION_ERR_ABI_MISMATCH. The host refuses a plugin whose choice is
 * outside its range with one sentence naming the library file, the
 * plugin's version and the host's range.
 *
 * ----------------------------------------------------------------------------
 * 3. Struct growth (both directions)
 * ----------------------------------------------------------------------------
 * Every struct that crosses begins with `uint32_t struct_size`, set by the
 * side that allocated it to sizeof() as that side knows it. Structs only
 * ever grow at the end; a field is never removed, moved or retyped.
 *   - A reader accepts any struct_size that covers the 1.0 fields (a
 *     smaller one is a broken peer, refused with SCION_ERR_INVALID_ARGUMENT)
 *     and never reads a field that lies beyond it: such a field has its
 *     documented default (zero, NULL, "absent").
 *   - A writer never writes beyond the struct_size it was given.
 *   - A struct the host allocates for the plugin to fill (scion_plugin_api,
 *     scion_buffer) is zeroed by the host first, so a field an older plugin
 *     does not know reads as zero.
 * SCION_STRUCT_HAS(ptr, type, field) tells whether `field` is covered.
 *
 * ----------------------------------------------------------------------------
 * 4. Calls and payloads
 * ----------------------------------------------------------------------------
 * Every operation goes through `plugin->call`, named by an operation string
 * (the SCION_OP_* constants below). Requests and responses are UTF-8 JSON
 * objects. Every payload carries "schema_version": SCION_PAYLOAD_SCHEMA_VERSION
 * (writers always write it; a reader treats a missing one as 1, since 1.0
 * peers omitted it on some payloads, and refuses a greater one with
 * SCION_ERR_INVALID_ARGUMENT). The rule for growing payloads: a new field
 * is optional, has a documented default when absent, and its reader ignores
 * fields it does not know; that needs no new schema_version. Removing,
 * renaming, retyping a field, or making one required, needs a new
 * schema_version. An unknown operation is answered SCION_ERR_UNSUPPORTED;
 * `describe` lists the operations a plugin supports ("operations").
 *
 * ----------------------------------------------------------------------------
 * 5. Ownership and lifetimes
 * ----------------------------------------------------------------------------
 * - The host table (`scion_host_api`) and its functions alloc and log, and
 *   its context, are valid for the life of the process: a plugin keeps the
 *   pointers it received in the entry call and uses them in every later
 *   call, on any thread.
 * - Request bytes, the operation string, the configuration passed to
 *   create_instance and the scion_stream are borrowed: valid only until the
 *   call that received them returns; the plugin copies what it keeps. The
 *   stream's functions (on_event, is_cancelled) may only be called during
 *   that call, from any thread.
 * - Response memory (`scion_buffer.data`, on success or error) is allocated
 *   with `host->alloc` and owned and freed by the host.
 * - Event bytes passed to on_event are borrowed by the host for the
 *   duration of the callback.
 * - `plugin->name` is static for the life of the process.
 *
 * ----------------------------------------------------------------------------
 * 6. Errors
 * ----------------------------------------------------------------------------
 * `call` returns a scion_status. On any status other than SCION_OK the
 * response buffer, if non-empty, holds a JSON error:
 *   { "schema_version": 1, "code": "not_found", "message": "...",
 *     "details": { ... } }
 * The host shows `message` and uses `code` (the plugin's own word, which
 * wins over the status); the status is the fallback when there is no JSON
 * error. A non-OK status with an empty response is reported as "the plugin
 * did not answer". Nothing may unwind, throw or abort across this boundary:
 * a plugin written in a language with exceptions catches everything at its
 * exported edge.
 *
 * ----------------------------------------------------------------------------
 * 7. Instances and threads
 * ----------------------------------------------------------------------------
 * The entry call fills `plugin->instance`, the default instance. A plugin
 * that keeps state per configuration (a Kubernetes client: a connection and
 * a token cache) also fills `create_instance`: the host calls it with the
 * runtime's configuration (a JSON object, the `runtimes.<name>` settings
 * entry; `{}` for a harness) and uses the instance it returns in later
 * calls; `destroy_instance` is called once for each created instance when
 * the host exits (never for the default instance, never during a call on
 * that instance). A plugin without create_instance gets the configuration
 * in every request (`runtime_config`), as in 1.0.
 *
 * The host serializes calls into one instance (no two calls on it overlap)
 * unless the plugin sets SCION_PLUGIN_THREAD_SAFE in `plugin->flags`: then
 * calls on one instance may run at the same time on different threads.
 * Calls on different instances may always overlap. A call may block for
 * as long as its work takes: the host's async code bridges calls onto
 * dedicated threads, never its cooperative task pool.
 *
 * Streaming (log follow, pull progress) happens inside a single `call`: the
 * plugin invokes `stream->on_event(stream->context, json, len)` for each
 * event. A non-zero return from on_event asks the plugin to stop early and
 * return SCION_OK.
 *
 * Cancellation: the host may cancel a running call (Ctrl-C on `logs -f`, a
 * broker dropping a client) from another thread. The plugin sees it without
 * emitting: `stream->is_cancelled(stream->context)` returns non-zero once
 * the call is cancelled. A plugin that blocks or waits polls it at least
 * every 200 ms and then returns promptly; what it returns after a cancel
 * (SCION_OK for a stream) is discarded. is_cancelled is absent (struct_size)
 * from a 1.0 host and may be NULL: then nothing cancels the call.
 */
#ifndef SCION_PLUGIN_H
#define SCION_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The range of ABI versions this header describes. */
#define SCION_PLUGIN_ABI_VERSION_MIN 1
#define SCION_PLUGIN_ABI_VERSION 1
#define SCION_PLUGIN_ENTRY_SYMBOL "scion_plugin_entry_v1"
#define SCION_PAYLOAD_SCHEMA_VERSION 1

/* Whether the struct at `ptr` (of type `type`, with its struct_size) covers
 * `field`: a reader checks this before reading a field added after 1.0. */
#define SCION_STRUCT_HAS(ptr, type, field)                                   \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Flags in scion_plugin_api.flags. */
#define SCION_PLUGIN_THREAD_SAFE 0x1u /* calls on one instance may overlap */

/* Operation names (the `operation` argument of call). */
#define SCION_OP_DESCRIBE "describe"
#define SCION_OP_CAPABILITIES "capabilities"
#define SCION_OP_RUN "run"
#define SCION_OP_STOP "stop"
#define SCION_OP_DELETE "delete"
#define SCION_OP_LIST "list"
#define SCION_OP_STATUS "status"
#define SCION_OP_LOGS "logs"
#define SCION_OP_EXEC "exec"
#define SCION_OP_ATTACH_ARGV "attach_argv"
#define SCION_OP_IMAGE_EXISTS "image_exists"
#define SCION_OP_IMAGE_PULL "image_pull"
#define SCION_OP_SYNC "sync"
#define SCION_OP_RESOLVE_AUTH "resolve_auth"
#define SCION_OP_PROVISION "provision"
#define SCION_OP_NORMALIZE_HOOK "normalize_hook"
/* ABI 1.1, runtimes whose agent homes are not at host paths
 * (capability shares_host_paths false): a file of the agent's home. */
#define SCION_OP_READ_AGENT_FILE "read_agent_file"
#define SCION_OP_WRITE_AGENT_FILE "write_agent_file"

/* Capability names: the boolean fields of the `capabilities` response.
 * A capability absent from an answer has the default given here. */
#define SCION_CAP_NEEDS_IMAGE "needs_image" /* default false */
#define SCION_CAP_REMOTE "remote"           /* default false */
#define SCION_CAP_SYNC "sync"               /* default false */
#define SCION_CAP_ISOLATED "isolated"       /* default false */
/* The agent runs in the tmux session of docs/plugins.md, reachable through
 * exec: `look`, `message` and `attach` need it. Default true (1.0 runtimes
 * all had one); a plain process runtime answers false. */
#define SCION_CAP_TERMINAL_SESSION "terminal_session"
/* The agent's home is at the same path on the host (local, docker and
 * podman on this machine): the host reads and writes its files directly.
 * Default true; a runtime whose homes live elsewhere (a pod, a remote
 * engine) answers false and serves read_agent_file / write_agent_file. */
#define SCION_CAP_SHARES_HOST_PATHS "shares_host_paths"

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

/* Returns non-zero once the host has cancelled the call. */
typedef int32_t (*scion_cancelled_fn)(void *context);

/* The call context, allocated by the host for each call (never NULL). */
typedef struct scion_stream {
  uint32_t struct_size;
  scion_event_fn on_event; /* may be NULL: the caller wants no events */
  void *context;           /* pass back to on_event and is_cancelled */
  /* --- added in 1.1 (check with SCION_STRUCT_HAS) --- */
  scion_cancelled_fn is_cancelled; /* may be NULL: the call is never cancelled */
} scion_stream;

/* The host's functions, passed to the entry point. The table and its
 * functions stay valid for the life of the process (section 5). */
typedef struct scion_host_api {
  uint32_t struct_size;
  uint32_t abi_version; /* highest ABI version the host speaks */
  void *context;        /* pass back to log() */
  /* Allocates response memory the host will own and free. NULL on failure.
   * Thread-safe. */
  void *(*alloc)(size_t size);
  /* Writes one log line through the host's logger (never to stdout).
   * Thread-safe. */
  void (*log)(void *context, int32_t level, const char *message,
              size_t length);
  /* --- added in 1.1 (check with SCION_STRUCT_HAS; absent reads as 1) --- */
  uint32_t abi_version_min; /* lowest ABI version the host speaks */
} scion_host_api;

typedef int32_t (*scion_call_fn)(void *instance, const char *operation,
                                 const uint8_t *request, size_t request_length,
                                 const scion_stream *stream,
                                 scion_buffer *response);

/* Makes an instance for one configuration (UTF-8 JSON object). On success
 * writes it to *instance and returns SCION_OK; otherwise returns a status
 * and may fill `error` with a JSON error (memory from host->alloc). */
typedef int32_t (*scion_create_instance_fn)(void *default_instance,
                                            const uint8_t *configuration,
                                            size_t configuration_length,
                                            void **instance,
                                            scion_buffer *error);

/* Ends an instance made by create_instance (at host exit). */
typedef void (*scion_destroy_instance_fn)(void *instance);

/* Filled in by the plugin's entry point. The host zeroes it and sets
 * struct_size before the call; the plugin writes no field beyond it. */
typedef struct scion_plugin_api {
  uint32_t struct_size;
  uint32_t abi_version; /* the version the plugin will use (or speaks) */
  const char *name;     /* static, matches the manifest's name */
  void *instance;       /* the default instance, first argument of call */
  scion_call_fn call;
  /* --- added in 1.1 (write only when SCION_STRUCT_HAS says so) --- */
  uint32_t flags; /* SCION_PLUGIN_THREAD_SAFE, or 0 */
  scion_create_instance_fn create_instance;   /* may stay NULL */
  scion_destroy_instance_fn destroy_instance; /* may stay NULL */
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
