/*
 * kube_exec.h — the kubernetes plugin's exec library, opened on first use.
 *
 * Exec in a pod speaks WebSocket (the remotecommand protocol), and the
 * client for it (hummingbird-websocket on swift-nio and swift-nio-ssl, with
 * BoringSSL) is most of the kubernetes plugin's weight: linked into the
 * plugin, every command that loads the plugin paid for mapping and
 * relocating it, even `list` and `delete`, which never exec. So the session
 * lives in a library of its own, libScionKubeExec.so, installed beside
 * libScionRuntimeKubernetes.so; the plugin opens it with dlopen at its
 * first exec (kube_exec_open below). This header is the whole contract
 * between the two. Plain C99.
 *
 * The library exports exactly one function, versioned in its name:
 *
 *   int32_t scion_kube_exec_run_v1(const scion_kube_exec_request *request,
 *                                  scion_kube_exec_result *result);
 *
 * It runs one non-interactive exec session and returns when the command
 * has ended, the deadline has passed or the caller cancelled: it blocks
 * the calling thread (the session itself runs on the library's own
 * threads). It may be called from several threads at once.
 *
 * Structs: both begin with `uint32_t struct_size`, set by the caller to
 * sizeof() as it knows it; they only ever grow at the end. The library
 * refuses a struct smaller than version 1's (SCION_KUBE_EXEC_BAD_REQUEST).
 *
 * Ownership: everything in the request is borrowed for the duration of the
 * call (the library copies what a session keeps). The caller zeroes the
 * result first; the library fills it, and `stdout_data`, `stderr_data` and
 * `error_message` (each may be NULL) are allocated with malloc(3): the
 * caller frees them with free(3), whatever the status. Credentials cross in memory only: the library never writes
 * them to a file, an argument vector or an error message.
 */
#ifndef KUBE_EXEC_H
#define KUBE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's file name, looked for beside the kubernetes plugin's. */
#define SCION_KUBE_EXEC_LIBRARY_NAME "libScionKubeExec.so"
#define SCION_KUBE_EXEC_ENTRY_SYMBOL "scion_kube_exec_run_v1"

/* Statuses (the return value, also in result->status). */
#define SCION_KUBE_EXEC_OK 0
/* The server refused the WebSocket upgrade for every subprotocol offered
 * (the caller asks the same URL plainly to learn why: 403, 404...). The
 * message is the last refusal. */
#define SCION_KUBE_EXEC_NOT_UPGRADED 1
/* The stream ended without the exit status the server always sends: the
 * connection was dropped. A command that may run twice can be tried again. */
#define SCION_KUBE_EXEC_DROPPED 2
/* The server's status says the command could not run at all (no such
 * program, container not running); the message is the status's. */
#define SCION_KUBE_EXEC_NOT_RUN 3
#define SCION_KUBE_EXEC_TIMED_OUT 4
#define SCION_KUBE_EXEC_CANCELLED 5
/* Anything else (TLS material, connection, protocol); the message says what. */
#define SCION_KUBE_EXEC_FAILED 6
/* A NULL or too small struct, or no server URL. */
#define SCION_KUBE_EXEC_BAD_REQUEST 7

/* Bytes in memory; `data` NULL means absent. */
typedef struct scion_kube_exec_bytes {
  const uint8_t *data;
  size_t length;
} scion_kube_exec_bytes;

typedef struct scion_kube_exec_request {
  uint32_t struct_size;
  /* The API server, `https://host:port` (or http://), no trailing slash. */
  const char *server_url;
  /* The exec path with its query: `/api/v1/namespaces/N/pods/P/exec?command=...`. */
  const char *path_and_query;
  /* WebSocket subprotocols, tried in this order, one connection each
   * (`v5.channel.k8s.io`, then `v4.channel.k8s.io`); a v5 session closes
   * stdin with the v5 close signal after the bytes. */
  const char *const *subprotocols;
  size_t subprotocol_count;
  /* Sent as `Authorization: Bearer <token>`; NULL for none. */
  const char *bearer_token;
  /* PEM; both or neither. */
  scion_kube_exec_bytes client_certificate_pem;
  scion_kube_exec_bytes client_key_pem;
  /* The CA to verify the server with (PEM); absent: the system's roots. */
  scion_kube_exec_bytes ca_pem;
  /* Non-zero: the server's certificate is not verified. */
  int32_t insecure_skip_tls_verify;
  /* The name sent as SNI and verified (kubeconfig tls-server-name); NULL:
   * the URL's host, or, for a server given by IP address, a fixed name with
   * the chain verified but not the host name (the REST calls, which precede
   * every exec, check the IP). */
  const char *tls_server_name;
  /* Sent whole on the stdin channel when `send_stdin` is non-zero (then the
   * path's query has stdin=true). */
  int32_t send_stdin;
  scion_kube_exec_bytes stdin_bytes;
  /* The session is abandoned after this many seconds (TIMED_OUT). */
  double timeout_seconds;
  /* Polled about every 100 ms while the session runs, on the calling
   * thread; non-zero ends it (CANCELLED). May be NULL. After a cancel or
   * the deadline the call returns within about 2 s even when the session
   * cannot be wound down (a server that never answers the handshake); such
   * a session is left to end on its own. */
  int32_t (*is_cancelled)(void *context);
  void *cancel_context;
} scion_kube_exec_request;

typedef struct scion_kube_exec_result {
  uint32_t struct_size;
  int32_t status;
  /* The command's exit code (status OK). */
  int32_t exit_code;
  uint8_t *stdout_data;
  size_t stdout_length;
  uint8_t *stderr_data;
  size_t stderr_length;
  /* A sentence (UTF-8) when status is not OK. */
  char *error_message;
} scion_kube_exec_result;

typedef int32_t (*scion_kube_exec_run_fn)(const scion_kube_exec_request *request,
                                          scion_kube_exec_result *result);

/* The caller's side: opens the library at `path` (RTLD_NOW | RTLD_LOCAL,
 * never closed) and returns its entry, or NULL with a sentence in `error`
 * (the loader's message, or that the library has no
 * SCION_KUBE_EXEC_ENTRY_SYMBOL). */
scion_kube_exec_run_fn kube_exec_open(const char *path, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* KUBE_EXEC_H */
