#include "ccurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* Every libcurl function the plugins use, resolved once. Handles only
 * exist after a successful load, so the calls that take one need no check. */
static struct {
  CURLcode (*global_init)(long flags);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *curl);
  CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
  CURLcode (*easy_perform)(CURL *curl);
  const char *(*easy_strerror)(CURLcode code);
  CURLcode (*easy_send)(CURL *curl, const void *buffer, size_t length, size_t *sent);
  CURLcode (*easy_recv)(CURL *curl, void *buffer, size_t length, size_t *received);
  struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
  void (*slist_free_all)(struct curl_slist *list);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[512];

static int resolve(void *library, const char *name, void **slot) {
  *slot = dlsym(library, name);
  if (*slot) return 1;
  snprintf(load_error, sizeof load_error, "%s has no %s", CCURL_LIBRARY_NAME, name);
  return 0;
}

static void load_libcurl(void) {
  void *library = dlopen(CCURL_LIBRARY_NAME, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    snprintf(load_error, sizeof load_error, "%s", reason ? reason : CCURL_LIBRARY_NAME " could not be loaded");
    return;
  }
  if (!resolve(library, "curl_global_init", (void **)&curl.global_init) ||
      !resolve(library, "curl_easy_init", (void **)&curl.easy_init) ||
      !resolve(library, "curl_easy_cleanup", (void **)&curl.easy_cleanup) ||
      !resolve(library, "curl_easy_setopt", (void **)&curl.easy_setopt) ||
      !resolve(library, "curl_easy_getinfo", (void **)&curl.easy_getinfo) ||
      !resolve(library, "curl_easy_perform", (void **)&curl.easy_perform) ||
      !resolve(library, "curl_easy_strerror", (void **)&curl.easy_strerror) ||
      !resolve(library, "curl_easy_send", (void **)&curl.easy_send) ||
      !resolve(library, "curl_easy_recv", (void **)&curl.easy_recv) ||
      !resolve(library, "curl_slist_append", (void **)&curl.slist_append) ||
      !resolve(library, "curl_slist_free_all", (void **)&curl.slist_free_all))
    return;
  if (curl.global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
    snprintf(load_error, sizeof load_error, "curl_global_init failed");
    return;
  }
  loaded = 1;
}

static int ensure_loaded(void) {
  pthread_once(&load_once, load_libcurl);
  return loaded;
}

CURL *ccurl_easy_init(void) { return ensure_loaded() ? curl.easy_init() : NULL; }

const char *ccurl_load_error(void) { return ensure_loaded() ? NULL : load_error; }

void ccurl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }

const char *ccurl_easy_strerror(CURLcode code) {
  return ensure_loaded() ? curl.easy_strerror(code) : load_error;
}

CURLcode ccurl_easy_send(CURL *handle, const void *buffer, size_t length, size_t *sent) {
  return curl.easy_send(handle, buffer, length, sent);
}

CURLcode ccurl_easy_recv(CURL *handle, void *buffer, size_t length, size_t *received) {
  return curl.easy_recv(handle, buffer, length, received);
}

struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *text) {
  return ensure_loaded() ? curl.slist_append(list, text) : NULL;
}

void ccurl_slist_free_all(struct curl_slist *list) {
  if (list) curl.slist_free_all(list);
}

CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
  return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
  return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
  return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_setopt_data_fn(CURL *handle, CURLoption option, ccurl_data_fn fn) {
  return curl.easy_setopt(handle, option, fn);
}

CURLcode ccurl_set_unix_socket(CURL *handle, const char *path) {
  return curl.easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, path);
}

CURLcode ccurl_perform(CURL *handle) { return curl.easy_perform(handle); }

long ccurl_response_code(CURL *handle) {
  long code = 0;
  if (curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) return 0;
  return code;
}

int ccurl_active_socket(CURL *handle) {
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (curl.easy_getinfo(handle, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK) return -1;
  return socket == CURL_SOCKET_BAD ? -1 : (int)socket;
}
