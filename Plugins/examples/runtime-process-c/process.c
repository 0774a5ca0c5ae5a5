/*
 * process-c: a complete scion runtime plugin in plain C.
 *
 * Agents run as plain host processes (no tmux, no container): `run` starts
 * the harness command in the agent's worktree with the agent's HOME, its
 * output appended to $HOME/.scion/agent.log, and its exit status written
 * to $HOME/.scion/exit-status when it ends. A small supervisor process
 * (in a session of its own, so it outlives the scion command that started
 * it) waits for the agent and writes that status.
 *
 * State lives in one folder per agent, `<state_dir>/<name>` (the handle):
 * record.json (name, labels, home, workdir) and pid (the agent's process
 * group). `state_dir` is the runtime's setting (runtimes.<name>.state_dir),
 * by default ~/.scion/process-c.
 *
 * Build (docs/plugins.md, "Writing a plugin in C"):
 *   cc -shared -fPIC -o libprocess-c.so process.c \
 *      -I "$(scion plugins sdk --include)" -ljansson
 *
 * JSON: Jansson (Debian package libjansson-dev), for its strict parser,
 * its reference counting that makes ownership explicit, and because it is
 * a maintained Debian package with a stable ABI (libjansson4).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "scion_plugin.h"

extern char **environ;

static void *(*host_alloc)(size_t);

/* ---------------------------------------------------------------- answers */

/* Hands `body` (consumed) to the host as the response, in host memory. */
static int32_t answer(scion_buffer *response, json_t *body, int32_t status) {
  json_object_set_new(body, "schema_version", json_integer(SCION_PAYLOAD_SCHEMA_VERSION));
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (text == NULL) return SCION_ERR_INTERNAL;
  size_t length = strlen(text);
  response->data = host_alloc(length);
  if (response->data == NULL) {
    free(text);
    return SCION_ERR_INTERNAL;
  }
  memcpy(response->data, text, length);
  response->length = length;
  free(text);
  return status;
}

static int32_t ok(scion_buffer *response) { return answer(response, json_object(), SCION_OK); }

static int32_t fail(scion_buffer *response, int32_t status, const char *code, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static int32_t fail(scion_buffer *response, int32_t status, const char *code, const char *format, ...) {
  char message[1024];
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(message, sizeof message, format, arguments);
  va_end(arguments);
  return answer(response, json_pack("{s:s, s:s, s:{}}", "code", code, "message", message, "details"), status);
}

/* ---------------------------------------------------------------- helpers */

static const char *string_field(json_t *object, const char *key) {
  return json_string_value(json_object_get(object, key));
}

static int write_file(const char *path, const char *data, size_t length, int flags) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0600);
  if (fd < 0) return -1;
  ssize_t written = write(fd, data, length);
  close(fd);
  return written == (ssize_t)length ? 0 : -1;
}

static int make_folders(const char *path) {
  char copy[4096];
  if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy) return -1;
  for (char *slash = copy + 1; *slash; slash++) {
    if (*slash != '/') continue;
    *slash = '\0';
    if (mkdir(copy, 0700) != 0 && errno != EEXIST) return -1;
    *slash = '/';
  }
  return (mkdir(copy, 0700) == 0 || errno == EEXIST) ? 0 : -1;
}

/* The folder of all agents: runtime_config.state_dir or ~/.scion/process-c. */
static int state_base(json_t *request, char *out, size_t size) {
  const char *configured = string_field(json_object_get(request, "runtime_config"), "state_dir");
  if (configured != NULL && configured[0] == '/') return snprintf(out, size, "%s", configured) < (int)size ? 0 : -1;
  const char *home = getenv("HOME");
  if (home == NULL) return -1;
  return snprintf(out, size, "%s/.scion/process-c", home) < (int)size ? 0 : -1;
}

/* A handle is an agent's state folder; anything else is not one of ours. */
static int handle_is_ours(json_t *request, const char *handle) {
  char base[4096];
  if (handle == NULL || state_base(request, base, sizeof base) != 0) return 0;
  size_t length = strlen(base);
  return strncmp(handle, base, length) == 0 && handle[length] == '/' && strstr(handle + length, "..") == NULL
      && strchr(handle + length + 1, '/') == NULL;
}

static json_t *read_record(const char *folder) {
  char path[4200];
  snprintf(path, sizeof path, "%s/record.json", folder);
  return json_load_file(path, 0, NULL);
}

/* A number written in the file `folder/name`; 0 when there is none. */
static int read_number(const char *folder, const char *name, long *number) {
  char path[4200], text[32] = {0};
  snprintf(path, sizeof path, "%s/%s", folder, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return 0;
  *number = atol(text);
  return 1;
}

static pid_t read_pid(const char *folder) {
  long pid = 0;
  return read_number(folder, "pid", &pid) ? (pid_t)pid : 0;
}

/* The agent's process group still has a member. */
static int alive(pid_t pid) { return pid > 0 && (kill(-pid, 0) == 0 || errno == EPERM); }

static int exit_code(const char *home, int *code) {
  char folder[4200];
  long number = 0;
  snprintf(folder, sizeof folder, "%s/.scion", home);
  if (!read_number(folder, "exit-status", &number)) return 0;
  *code = (int)number;
  return 1;
}

static json_t *agent_json(const char *folder, json_t *record, const char *name) {
  pid_t pid = read_pid(folder);
  const char *home = string_field(record, "home");
  json_t *agent = json_pack("{s:s, s:s, s:s, s:O}", "name", name, "handle", folder, "state",
                            alive(pid) ? "running" : "stopped", "labels", json_object_get(record, "labels"));
  int code;
  if (!alive(pid) && home != NULL && exit_code(home, &code)) json_object_set_new(agent, "exit_code", json_integer(code));
  return agent;
}

static int sleep_cancellable(const scion_stream *stream, long milliseconds) {
  struct timespec step = {0, 50 * 1000000L};
  for (long waited = 0; waited < milliseconds; waited += 50) {
    if (SCION_STRUCT_HAS(stream, scion_stream, is_cancelled) && stream->is_cancelled != NULL
        && stream->is_cancelled(stream->context))
      return 1;
    nanosleep(&step, NULL);
  }
  return 0;
}

/* Closes every descriptor above stderr in a child (async-signal-safe). */
static void close_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  for (int fd = 3; fd < 4096; fd++) close(fd);
}

/* --------------------------------------------------------------- base64 */

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const unsigned char *data, size_t length) {
  char *out = malloc(4 * ((length + 2) / 3) + 1), *p = out;
  if (out == NULL) return NULL;
  for (size_t i = 0; i < length; i += 3) {
    unsigned value = data[i] << 16 | (i + 1 < length ? data[i + 1] << 8 : 0) | (i + 2 < length ? data[i + 2] : 0);
    *p++ = alphabet[value >> 18 & 63];
    *p++ = alphabet[value >> 12 & 63];
    *p++ = i + 1 < length ? alphabet[value >> 6 & 63] : '=';
    *p++ = i + 2 < length ? alphabet[value & 63] : '=';
  }
  *p = '\0';
  return out;
}

static unsigned char *base64_decode(const char *text, size_t *length) {
  size_t size = strlen(text);
  unsigned char *out = malloc(size / 4 * 3 + 3);
  if (out == NULL) return NULL;
  unsigned value = 0;
  int bits = 0;
  *length = 0;
  for (const char *c = text; *c && *c != '='; c++) {
    const char *found = strchr(alphabet, *c);
    if (found == NULL) { free(out); return NULL; }
    value = value << 6 | (unsigned)(found - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[(*length)++] = (unsigned char)(value >> bits & 0xff);
    }
  }
  return out;
}

/* ------------------------------------------------------------ operations */

static const char *const operations[] = {SCION_OP_DESCRIBE, SCION_OP_CAPABILITIES, SCION_OP_RUN, SCION_OP_STOP,
                                         SCION_OP_DELETE, SCION_OP_LIST, SCION_OP_STATUS, SCION_OP_LOGS,
                                         SCION_OP_EXEC};

static int32_t describe(scion_buffer *response) {
  json_t *names = json_array();
  for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) json_array_append_new(names, json_string(operations[i]));
  return answer(response, json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", "process-c", "kind", "runtime", "version", "1.0.0",
                                    "description", "agents as plain host processes (an example plugin in C)", "operations", names),
                SCION_OK);
}

static int32_t capabilities(scion_buffer *response) {
  return answer(response, json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", SCION_CAP_NEEDS_IMAGE, 0, SCION_CAP_REMOTE, 0,
                                    SCION_CAP_SYNC, 0, SCION_CAP_ISOLATED, 0, SCION_CAP_TERMINAL_SESSION, 0,
                                    SCION_CAP_SHARES_HOST_PATHS, 1),
                SCION_OK);
}

static int32_t run(json_t *spec, scion_buffer *response) {
  const char *name = string_field(spec, "name"), *home = string_field(spec, "home"), *workdir = string_field(spec, "workdir");
  json_t *command = json_object_get(spec, "command"), *env = json_object_get(spec, "env");
  if (name == NULL || home == NULL || workdir == NULL || !json_is_array(command) || json_array_size(command) == 0
      || strchr(name, '/') != NULL || name[0] == '.')
    return fail(response, SCION_ERR_INVALID_ARGUMENT, "invalid_argument",
                "malformed run request: name, home, workdir and a non-empty command are required");
  char base[4096], folder[4200], path[4300];
  if (state_base(spec, base, sizeof base) != 0)
    return fail(response, SCION_ERR_INVALID_ARGUMENT, "invalid_argument", "no state folder: HOME is not set");
  snprintf(folder, sizeof folder, "%s/%s", base, name);
  if (alive(read_pid(folder)))
    return fail(response, SCION_ERR_ALREADY_EXISTS, "already_exists", "agent %s is already running (%s)", name, folder);
  snprintf(path, sizeof path, "%s/.scion", home);
  if (make_folders(folder) != 0 || make_folders(path) != 0)
    return fail(response, SCION_ERR_INTERNAL, "internal", "cannot create %s: %s", folder, strerror(errno));
  json_t *record = json_pack("{s:s, s:O, s:s, s:s}", "name", name, "labels", json_object_get(spec, "labels"), "home", home,
                             "workdir", workdir);
  char *record_text = json_dumps(record, JSON_COMPACT);
  json_decref(record);
  snprintf(path, sizeof path, "%s/record.json", folder);
  int written = record_text != NULL ? write_file(path, record_text, strlen(record_text), O_TRUNC) : -1;
  free(record_text);
  if (written != 0) return fail(response, SCION_ERR_INTERNAL, "internal", "cannot write %s", path);

  /* Everything the children need, prepared before fork (only
   * async-signal-safe calls happen after it). */
  char log_path[4300], status_path[4300];
  snprintf(log_path, sizeof log_path, "%s/.scion/agent.log", home);
  snprintf(status_path, sizeof status_path, "%s/.scion/exit-status", home);
  unlink(status_path);
  size_t argc = json_array_size(command);
  char **argv = calloc(argc + 1, sizeof *argv);
  for (size_t i = 0; i < argc; i++) argv[i] = (char *)json_string_value(json_array_get(command, i));
  size_t envc = json_object_size(env);
  char **envp = calloc(envc + 4, sizeof *envp);
  size_t n = 0;
  const char *key;
  json_t *value;
  int has_path = 0;
  json_object_foreach(env, key, value) {
    if (strcmp(key, "HOME") == 0) continue;
    if (strcmp(key, "PATH") == 0) has_path = 1;
    if (asprintf(&envp[n], "%s=%s", key, json_string_value(value) ? json_string_value(value) : "") > 0) n++;
  }
  if (asprintf(&envp[n], "HOME=%s", home) > 0) n++;
  if (!has_path && asprintf(&envp[n], "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin:/bin") > 0) n++;
  envp[n] = NULL;

  int channel[2];
  if (pipe2(channel, O_CLOEXEC) != 0) return fail(response, SCION_ERR_INTERNAL, "internal", "pipe: %s", strerror(errno));
  pid_t first = fork();
  if (first == 0) {
    /* The supervisor: its own session, so it outlives the scion command. */
    setsid();
    if (fork() != 0) _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    pid_t agent = fork();
    if (agent == 0) {
      setpgid(0, 0);
      int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
      if (log >= 0) dup2(log, 1), dup2(log, 2);
      close_inherited();
      if (chdir(workdir) != 0) _exit(126);
      execvpe(argv[0], argv, envp);
      _exit(127);
    }
    setpgid(agent, agent);
    char digits[16];
    int length = 0;
    for (pid_t rest = agent; rest > 0 && length < 15; rest /= 10) digits[length++] = (char)('0' + rest % 10);
    char text_pid[16];
    for (int i = 0; i < length; i++) text_pid[i] = digits[length - 1 - i];
    if (write(channel[1], text_pid, (size_t)length) != length) {}
    close(channel[1]);
    close_inherited();
    int status = 0;
    while (waitpid(agent, &status, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    char text[4] = {0};
    int at = 0;
    if (code >= 100) text[at++] = (char)('0' + code / 100);
    if (code >= 10) text[at++] = (char)('0' + code / 10 % 10);
    text[at++] = (char)('0' + code % 10);
    int fd = open(status_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      if (write(fd, text, (size_t)at) < 0) {}
      close(fd);
    }
    _exit(0);
  }
  close(channel[1]);
  for (size_t i = 0; i < n; i++) free(envp[i]);
  free(envp);
  free(argv);
  if (first < 0) {
    close(channel[0]);
    return fail(response, SCION_ERR_INTERNAL, "internal", "fork: %s", strerror(errno));
  }
  while (waitpid(first, NULL, 0) < 0 && errno == EINTR) {}
  char pid_text[32] = {0};
  ssize_t length = read(channel[0], pid_text, sizeof pid_text - 1);
  close(channel[0]);
  if (length <= 0) return fail(response, SCION_ERR_INTERNAL, "internal", "agent %s did not start", name);
  snprintf(path, sizeof path, "%s/pid", folder);
  write_file(path, pid_text, (size_t)length, O_TRUNC);
  return answer(response, json_pack("{s:s}", "handle", folder), SCION_OK);
}

static void kill_and_wait(pid_t pid, long timeout_seconds) {
  if (!alive(pid)) return;
  kill(-pid, SIGTERM);
  struct timespec step = {0, 50 * 1000000L};
  for (long waited = 0; waited < timeout_seconds * 1000 && alive(pid); waited += 50) nanosleep(&step, NULL);
  if (alive(pid)) kill(-pid, SIGKILL);
  for (int i = 0; i < 40 && alive(pid); i++) nanosleep(&step, NULL);
}

/* stop, delete and status of a handle this runtime does not know are not
 * errors: stop and delete succeed, status answers "missing". */
static int32_t stop(json_t *request, scion_buffer *response) {
  const char *handle = string_field(request, "handle");
  if (!handle_is_ours(request, handle)) return ok(response);
  json_int_t timeout = json_integer_value(json_object_get(request, "timeout_seconds"));
  kill_and_wait(read_pid(handle), timeout > 0 ? (long)timeout : 10);
  return ok(response);
}

static int32_t delete(json_t *request, scion_buffer *response) {
  const char *handle = string_field(request, "handle");
  if (!handle_is_ours(request, handle)) return ok(response);
  kill_and_wait(read_pid(handle), 2);
  char path[4300];
  snprintf(path, sizeof path, "%s/pid", handle);
  unlink(path);
  snprintf(path, sizeof path, "%s/record.json", handle);
  unlink(path);
  if (rmdir(handle) != 0 && errno != ENOENT)
    return fail(response, SCION_ERR_INTERNAL, "internal", "cannot remove %s: %s", handle, strerror(errno));
  return ok(response);
}

static int32_t status(json_t *request, scion_buffer *response) {
  const char *name = string_field(request, "name"), *handle = string_field(request, "handle");
  json_t *record = handle_is_ours(request, handle) ? read_record(handle) : NULL;
  if (record == NULL)
    return answer(response, json_pack("{s:s, s:s, s:s, s:{}}", "name", name ? name : "", "handle", handle ? handle : "",
                                      "state", "missing", "labels"),
                  SCION_OK);
  json_t *agent = agent_json(handle, record, name ? name : "");
  json_decref(record);
  return answer(response, agent, SCION_OK);
}

static int32_t list(json_t *request, scion_buffer *response) {
  json_t *agents = json_array(), *wanted = json_object_get(request, "labels");
  char base[4096];
  DIR *folder = state_base(request, base, sizeof base) == 0 ? opendir(base) : NULL;
  struct dirent *entry;
  while (folder != NULL && (entry = readdir(folder)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", base, entry->d_name);
    json_t *record = read_record(path);
    if (record == NULL) continue;
    json_t *labels = json_object_get(record, "labels");
    int matches = 1;
    const char *key;
    json_t *value;
    json_object_foreach(wanted, key, value) {
      const char *have = string_field(labels, key);
      if (have == NULL || strcmp(have, json_string_value(value) ? json_string_value(value) : "") != 0) matches = 0;
    }
    if (matches) json_array_append_new(agents, agent_json(path, record, string_field(record, "name")));
    json_decref(record);
  }
  if (folder != NULL) closedir(folder);
  return answer(response, json_pack("{s:o}", "agents", agents), SCION_OK);
}

static int emit_text(const scion_stream *stream, const char *data, size_t length) {
  if (stream->on_event == NULL || length == 0) return 0;
  json_t *event = json_pack("{s:i, s:s%}", "schema_version", SCION_PAYLOAD_SCHEMA_VERSION, "text", data, length);
  if (event == NULL) return 0; /* not UTF-8: skipped */
  char *text = json_dumps(event, JSON_COMPACT);
  json_decref(event);
  int stop = text != NULL && stream->on_event(stream->context, (const uint8_t *)text, strlen(text)) != 0;
  free(text);
  return stop;
}

static int32_t logs(json_t *request, const scion_stream *stream, scion_buffer *response) {
  const char *name = string_field(request, "name"), *handle = string_field(request, "handle");
  json_t *record = handle_is_ours(request, handle) ? read_record(handle) : NULL;
  if (record == NULL) return fail(response, SCION_ERR_NOT_FOUND, "not_found", "agent %s has no process-c state", name ? name : "?");
  char path[4300];
  snprintf(path, sizeof path, "%s/.scion/agent.log", string_field(record, "home"));
  json_decref(record);
  int follow = json_is_true(json_object_get(request, "follow"));
  json_t *tail = json_object_get(request, "tail");
  FILE *file = fopen(path, "re");
  char buffer[8192];
  if (file != NULL && json_is_integer(tail)) {
    /* Start after the newline that precedes the last `tail` lines. */
    json_int_t lines = json_integer_value(tail), seen = 0;
    fseek(file, 0, SEEK_END);
    long size = ftell(file), start = 0;
    for (long at = size - 1; at >= 0 && start == 0; at--) {
      fseek(file, at, SEEK_SET);
      if (fgetc(file) == '\n' && at != size - 1 && ++seen == lines) start = at + 1;
      if (lines == 0) start = size;
    }
    fseek(file, start, SEEK_SET);
  }
  pid_t pid = read_pid(handle);
  for (;;) {
    size_t got = file != NULL ? fread(buffer, 1, sizeof buffer, file) : 0;
    if (got > 0) {
      if (emit_text(stream, buffer, got)) break;
      continue;
    }
    if (!follow || !alive(pid)) break;
    if (file != NULL) clearerr(file);
    else file = fopen(path, "re");
    if (sleep_cancellable(stream, 200)) break;
  }
  if (file != NULL) fclose(file);
  return ok(response);
}

/* Runs argv in the agent's worktree with its HOME; input and output as base64. */
static int32_t exec_agent(json_t *request, scion_buffer *response) {
  const char *handle = string_field(request, "handle"), *name = string_field(request, "name");
  json_t *record = handle_is_ours(request, handle) ? read_record(handle) : NULL;
  json_t *argv_json = json_object_get(request, "argv");
  if (record == NULL) return fail(response, SCION_ERR_NOT_FOUND, "not_found", "agent %s has no process-c state", name ? name : "?");
  if (!json_is_array(argv_json) || json_array_size(argv_json) == 0) {
    json_decref(record);
    return fail(response, SCION_ERR_INVALID_ARGUMENT, "invalid_argument", "malformed exec request: argv: expected a non-empty array");
  }
  size_t input_length = 0;
  unsigned char *input = NULL;
  const char *stdin_base64 = string_field(request, "stdin_base64"), *stdin_text = string_field(request, "stdin");
  if (stdin_base64 != NULL) input = base64_decode(stdin_base64, &input_length);
  else if (stdin_text != NULL) input = (unsigned char *)strdup(stdin_text), input_length = strlen(stdin_text);
  size_t argc = json_array_size(argv_json);
  char **argv = calloc(argc + 1, sizeof *argv);
  for (size_t i = 0; i < argc; i++) argv[i] = (char *)json_string_value(json_array_get(argv_json, i));
  char *home_env = NULL;
  if (asprintf(&home_env, "HOME=%s", string_field(record, "home")) < 0) home_env = NULL;
  const char *workdir = string_field(record, "workdir");
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    json_decref(record);
    return fail(response, SCION_ERR_INTERNAL, "internal", "pipe: %s", strerror(errno));
  }
  pid_t child = fork();
  if (child == 0) {
    dup2(in[0], 0), dup2(out[1], 1), dup2(err[1], 2);
    close_inherited();
    if (home_env != NULL) putenv(home_env);
    if (workdir == NULL || chdir(workdir) != 0) _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(in[0]), close(out[1]), close(err[1]);
  char *collected[2] = {NULL, NULL};
  size_t sizes[2] = {0, 0}, offered = 0;
  struct pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
  if (input_length == 0) close(in[1]), fds[2].fd = -1;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[8192];
      ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
      if (got <= 0) {
        close(fds[i].fd), fds[i].fd = -1;
        continue;
      }
      collected[i] = realloc(collected[i], sizes[i] + (size_t)got);
      memcpy(collected[i] + sizes[i], chunk, (size_t)got);
      sizes[i] += (size_t)got;
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = (fds[2].revents & POLLOUT) ? write(fds[2].fd, input + offered, input_length - offered) : -1;
      if (put > 0) offered += (size_t)put;
      if (put <= 0 || offered == input_length) close(fds[2].fd), fds[2].fd = -1;
    }
  }
  if (fds[2].fd >= 0) close(fds[2].fd);
  int wait_status = 0;
  while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {}
  free(input);
  free(argv);
  free(home_env);
  json_decref(record);
  int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  char *out64 = base64_encode((unsigned char *)collected[0], sizes[0]);
  char *err64 = base64_encode((unsigned char *)collected[1], sizes[1]);
  json_t *result = json_pack("{s:i, s:s, s:s, s:s, s:s}", "exit_code", code, "stdout", "", "stderr", "", "stdout_base64",
                             out64 ? out64 : "", "stderr_base64", err64 ? err64 : "");
  /* The text forms too, for a 1.0 host, when the bytes are UTF-8. */
  json_t *text;
  if ((text = json_stringn(collected[0] ? collected[0] : "", sizes[0])) != NULL) json_object_set_new(result, "stdout", text);
  if ((text = json_stringn(collected[1] ? collected[1] : "", sizes[1])) != NULL) json_object_set_new(result, "stderr", text);
  free(out64), free(err64), free(collected[0]), free(collected[1]);
  return answer(response, result, SCION_OK);
}

/* ----------------------------------------------------------------- call */

static int32_t call(void *instance, const char *operation, const uint8_t *request_bytes, size_t request_length,
                    const scion_stream *stream, scion_buffer *response) {
  (void)instance;
  if (strcmp(operation, SCION_OP_DESCRIBE) == 0) return describe(response);
  if (strcmp(operation, SCION_OP_CAPABILITIES) == 0) return capabilities(response);
  json_error_t error;
  json_t *request = json_loadb((const char *)request_bytes, request_length, JSON_ALLOW_NUL, &error);
  if (!json_is_object(request)) {
    json_decref(request);
    return fail(response, SCION_ERR_INVALID_ARGUMENT, "invalid_argument", "malformed %s request: %s", operation, error.text);
  }
  json_t *version = json_object_get(request, "schema_version");
  if (version != NULL && json_integer_value(version) != SCION_PAYLOAD_SCHEMA_VERSION) {
    long long given = (long long)json_integer_value(version); /* read before the request is freed */
    json_decref(request);
    return fail(response, SCION_ERR_INVALID_ARGUMENT, "invalid_argument",
                "schema_version: payload schema %lld is not one this side reads (it reads 1 to 1)", given);
  }
  int32_t result;
  if (strcmp(operation, SCION_OP_RUN) == 0) result = run(request, response);
  else if (strcmp(operation, SCION_OP_STOP) == 0) result = stop(request, response);
  else if (strcmp(operation, SCION_OP_DELETE) == 0) result = delete(request, response);
  else if (strcmp(operation, SCION_OP_STATUS) == 0) result = status(request, response);
  else if (strcmp(operation, SCION_OP_LIST) == 0) result = list(request, response);
  else if (strcmp(operation, SCION_OP_LOGS) == 0) result = logs(request, stream, response);
  else if (strcmp(operation, SCION_OP_EXEC) == 0) result = exec_agent(request, response);
  else result = fail(response, SCION_ERR_UNSUPPORTED, "unsupported", "the process-c runtime does not support %s", operation);
  json_decref(request);
  return result;
}

int32_t scion_plugin_entry_v1(const scion_host_api *host, scion_plugin_api *plugin) {
  uint32_t low = SCION_STRUCT_HAS(host, scion_host_api, abi_version_min) ? host->abi_version_min : 1;
  plugin->abi_version = 1;
  if (low > 1 || host->abi_version < 1) return SCION_ERR_ABI_MISMATCH;
  host_alloc = host->alloc;
  plugin->name = "process-c";
  plugin->instance = NULL;
  plugin->call = call;
  /* Every call works on its own request and files: calls may overlap. */
  if (SCION_STRUCT_HAS(plugin, scion_plugin_api, flags)) plugin->flags = SCION_PLUGIN_THREAD_SAFE;
  return SCION_OK;
}
