/*
 * scion-plugin-host: runs one plugin library in a process of its own
 * (settings plugins.isolation: process), so a plugin that crashes, hangs or
 * leaks takes only this helper with it, never scion.
 *
 *   scion-plugin-host LIBRARY ABI_MIN ABI_MAX MEMORY_LIMIT_MB
 *
 * It dlopens the library, calls its entry point with a host table of its
 * own, and answers the same calls over the pipes it was started with
 * (stdin from scion, stdout to scion; both are moved to fds of their own
 * first and stdin/stdout pointed at /dev/null and stderr, so a plugin that
 * prints cannot corrupt the protocol). Frames (native byte order, one
 * machine): a tag byte, then fixed fields and length-prefixed bytes.
 *
 *   scion -> helper
 *     'C' u32 op_len, op, u64 instance, u64 request_len, request   a call
 *     'X'                                          cancel the running call
 *     'S'                                 stop events of the running call
 *     'I' u64 config_len, config                           create_instance
 *     'D' u64 instance                                    destroy_instance
 *   helper -> scion
 *     'H' i32 status, u32 abi, u32 flags, u32 struct_size, u8 create,
 *         u8 destroy, u8 call, u32 name_len, name     after the entry call
 *         (status -1: dlopen failed, name is dlerror; -2: no entry symbol;
 *         name_len UINT32_MAX: the plugin left its name NULL)
 *     'V' u64 len, event                              a streamed event
 *     'L' i32 level, u64 len, text                            a log line
 *     'R' i32 status, u32 struct_size, u64 len, body     a call's answer
 *     'N' i32 status, u64 instance, u64 len, error        an instance made
 *     'M' u64 rss_mb                  the memory limit was passed (then exits)
 *
 * Calls run one at a time on one worker thread; the main thread reads frames
 * so a cancel reaches the running call. A watchdog ends the helper when its
 * resident memory passes the limit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scion_plugin.h"

static int input_fd, output_fd;
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int cancelled, stop_events, busy;
static long memory_limit_mb;

static void die(const char *message) {
  fprintf(stderr, "scion-plugin-host: %s\n", message);
  _exit(70);
}

static int read_all(void *buffer, size_t length) {
  char *at = buffer;
  while (length > 0) {
    ssize_t got = read(input_fd, at, length);
    if (got <= 0) return -1;
    at += got, length -= (size_t)got;
  }
  return 0;
}

static void write_all(const void *buffer, size_t length) {
  const char *at = buffer;
  while (length > 0) {
    ssize_t put = write(output_fd, at, length);
    if (put <= 0) _exit(0); /* scion went away */
    at += put, length -= (size_t)put;
  }
}

/* One frame: the tag, then pairs of (pointer, length), under the lock. */
static void send_frame(char tag, int parts, ...) {
  va_list arguments;
  pthread_mutex_lock(&output_lock);
  write_all(&tag, 1);
  va_start(arguments, parts);
  for (int i = 0; i < parts; i++) {
    const void *data = va_arg(arguments, const void *);
    size_t length = va_arg(arguments, size_t);
    if (length > 0) write_all(data, length);
  }
  va_end(arguments);
  pthread_mutex_unlock(&output_lock);
}

static void *read_bytes(uint64_t length) {
  char *data = malloc(length + 1);
  if (data == NULL || read_all(data, length) != 0) _exit(0);
  data[length] = '\0';
  return data;
}

/* ------------------------------------------------------------ host table */

static void *host_alloc(size_t size) { return malloc(size ? size : 1); }

static void host_log(void *context, int32_t level, const char *message, size_t length) {
  (void)context;
  uint64_t size = length;
  send_frame('L', 3, &level, sizeof level, &size, sizeof size, message, length);
}

static int32_t on_event(void *context, const uint8_t *event, size_t length) {
  (void)context;
  if (atomic_load(&cancelled) || atomic_load(&stop_events)) return 1;
  uint64_t size = length;
  send_frame('V', 2, &size, sizeof size, event, length);
  return 0;
}

/* A stream scion asked to stop (on_event returned non-zero in scion) is
 * cancelled too: over the socket that answer arrives after the event, so a
 * plugin waiting for more output learns it here. */
static int32_t is_cancelled(void *context) {
  (void)context;
  return atomic_load(&cancelled) || atomic_load(&stop_events);
}

static void send_hello(int32_t status, uint32_t abi, uint32_t flags, uint32_t struct_size, uint8_t create,
                       uint8_t destroy, uint8_t call, const char *text) {
  uint32_t length = text ? (uint32_t)strlen(text) : UINT32_MAX;
  send_frame('H', 9, &status, sizeof status, &abi, sizeof abi, &flags, sizeof flags, &struct_size, sizeof struct_size,
             &create, (size_t)1, &destroy, (size_t)1, &call, (size_t)1, &length, sizeof length, text,
             text ? (size_t)length : (size_t)0);
}

/* ---------------------------------------------------------------- calls */

static scion_plugin_api api;

/* Instances made for scion, destroyed when scion closes the socket. */
static void *made_instances[256];
static size_t made_count;

static void destroy_all(void) {
  if (api.destroy_instance == NULL) return;
  for (size_t i = 0; i < made_count; i++) api.destroy_instance(made_instances[i]);
  made_count = 0;
}

struct call {
  char *operation;
  uint64_t instance;
  uint8_t *request;
  uint64_t length;
};

static void run_call(struct call *call) {
  scion_buffer response = {0};
  response.struct_size = sizeof response;
  scion_stream stream = {0};
  stream.struct_size = sizeof stream;
  stream.on_event = on_event;
  stream.is_cancelled = is_cancelled;
  void *instance = call->instance ? (void *)(uintptr_t)call->instance : api.instance;
  int32_t status = api.call(instance, call->operation, call->request, (size_t)call->length, &stream, &response);
  uint64_t size = response.data ? response.length : 0;
  uint32_t struct_size = response.struct_size;
  send_frame('R', 4, &status, sizeof status, &struct_size, sizeof struct_size, &size, sizeof size, response.data,
             (size_t)size);
  free(response.data);
  free(call->operation);
  free(call->request);
  free(call);
}

/* One worker thread runs the calls, one at a time (a thread per call would
 * cost its creation on every round trip); the main thread keeps reading. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_ready = PTHREAD_COND_INITIALIZER;
static struct call *pending;

static void *worker(void *argument) {
  (void)argument;
  for (;;) {
    pthread_mutex_lock(&pending_lock);
    while (pending == NULL) pthread_cond_wait(&pending_ready, &pending_lock);
    struct call *call = pending;
    pending = NULL;
    pthread_mutex_unlock(&pending_lock);
    run_call(call);
    atomic_store(&busy, 0);
  }
  return NULL;
}

/* Resident memory in MB, from /proc/self/statm. */
static long resident_mb(void) {
  long pages = 0, resident = 0;
  FILE *file = fopen("/proc/self/statm", "re");
  if (file == NULL) return 0;
  if (fscanf(file, "%ld %ld", &pages, &resident) != 2) resident = 0;
  fclose(file);
  return resident * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
}

static void *watchdog(void *argument) {
  (void)argument;
  struct timespec step = {0, 20 * 1000000L};
  for (;;) {
    nanosleep(&step, NULL);
    uint64_t rss = (uint64_t)resident_mb();
    if (memory_limit_mb > 0 && rss > (uint64_t)memory_limit_mb) {
      send_frame('M', 1, &rss, sizeof rss);
      _exit(71);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) die("usage: scion-plugin-host LIBRARY ABI_MIN ABI_MAX MEMORY_LIMIT_MB (started by scion, not by hand)");
  /* The protocol gets fds of its own; what the plugin prints goes to stderr. */
  input_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
  output_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
  int null = open("/dev/null", O_RDONLY);
  if (input_fd < 0 || output_fd < 0 || null < 0) die("cannot set up its pipes");
  dup2(null, 0);
  dup2(2, 1);
  close(null);
  memory_limit_mb = atol(argv[4]);
  /* SwiftPM links this program with the Swift runtime, whose crash handler
   * would catch a plugin's segfault and exit 0: a crash must end the
   * helper by its signal, so scion can say which. */
  int crashes[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
  for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) signal(crashes[i], SIG_DFL);
  /* No PR_SET_PDEATHSIG: it fires when the spawning thread ends, and scion
   * calls plugins from short-lived threads. The helper ends when scion
   * closes the socket (at exit at the latest), even during a hung call. */

  static scion_host_api host;
  host.struct_size = sizeof host;
  host.abi_version_min = (uint32_t)atol(argv[2]);
  host.abi_version = (uint32_t)atol(argv[3]);
  host.context = NULL;
  host.alloc = host_alloc;
  host.log = host_log;

  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) {
    send_hello(-1, 0, 0, 0, 0, 0, 0, dlerror());
    return 0;
  }
  scion_plugin_entry_fn entry = (scion_plugin_entry_fn)dlsym(library, SCION_PLUGIN_ENTRY_SYMBOL);
  int32_t status = -2;
  memset(&api, 0, sizeof api);
  api.struct_size = sizeof api;
  if (entry != NULL) status = entry(&host, &api);
  send_hello(status, api.abi_version, api.flags, api.struct_size, api.create_instance != NULL,
             api.destroy_instance != NULL, api.call != NULL, api.name);
  if (status != SCION_OK || api.call == NULL) return 0;

  pthread_t dog, calls;
  if (memory_limit_mb > 0) pthread_create(&dog, NULL, watchdog, NULL);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 8u << 20);
  if (pthread_create(&calls, &attributes, worker, NULL) != 0) die("cannot start its call thread");
  pthread_attr_destroy(&attributes);

  for (;;) {
    char tag;
    if (read_all(&tag, 1) != 0) { /* scion closed the socket: done */
      if (!atomic_load(&busy)) destroy_all(); /* never during a call */
      return 0;
    }
    if (tag == 'C') {
      uint32_t op_length;
      struct call *call = calloc(1, sizeof *call);
      if (call == NULL || read_all(&op_length, sizeof op_length) != 0) return 0;
      call->operation = read_bytes(op_length);
      if (read_all(&call->instance, sizeof call->instance) || read_all(&call->length, sizeof call->length)) return 0;
      call->request = read_bytes(call->length);
      atomic_store(&cancelled, 0);
      atomic_store(&stop_events, 0);
      atomic_store(&busy, 1);
      pthread_mutex_lock(&pending_lock);
      pending = call;
      pthread_cond_signal(&pending_ready);
      pthread_mutex_unlock(&pending_lock);
    } else if (tag == 'X') {
      atomic_store(&cancelled, 1);
    } else if (tag == 'S') {
      atomic_store(&stop_events, 1);
    } else if (tag == 'I') {
      uint64_t length;
      if (read_all(&length, sizeof length) != 0) return 0;
      uint8_t *configuration = read_bytes(length);
      void *made = NULL;
      scion_buffer error = {0};
      error.struct_size = sizeof error;
      int32_t made_status = api.create_instance ? api.create_instance(api.instance, configuration, (size_t)length, &made, &error)
                                                : SCION_ERR_UNSUPPORTED;
      uint64_t id = (uint64_t)(uintptr_t)made, size = error.data ? error.length : 0;
      if (made_status == SCION_OK && made_count < sizeof made_instances / sizeof made_instances[0])
        made_instances[made_count++] = made;
      send_frame('N', 4, &made_status, sizeof made_status, &id, sizeof id, &size, sizeof size, error.data, (size_t)size);
      free(error.data);
      free(configuration);
    } else if (tag == 'D') {
      uint64_t id;
      if (read_all(&id, sizeof id) != 0) return 0;
      if (api.destroy_instance && id != 0) api.destroy_instance((void *)(uintptr_t)id);
    } else {
      die("unknown frame from scion");
    }
  }
}
