/*
 * ccurl.h — libcurl for the plugins that talk HTTP, loaded on first use.
 *
 * libcurl and its dependency tree (TLS, HTTP/2, SSH, LDAP, Kerberos) cost
 * several milliseconds to map and relocate, which every command that loads
 * the docker or kubernetes plugin would pay even when it never talks to an
 * engine (docs/performance.md). So the plugins do not link libcurl: this
 * shim opens it with dlopen at the first transfer, runs curl_global_init
 * once, and forwards each call. The header's types and constants come from
 * <curl/curl.h>; only its functions are reached through here. The shim also
 * gives typed forms of libcurl's variadic calls (curl_easy_setopt,
 * curl_easy_getinfo), which Swift cannot call directly.
 */
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The file name the shim opens (Debian's libcurl4 and libcurl3-gnutls
 * packages both install it). */
#define CCURL_LIBRARY_NAME "libcurl.so.4"

/* A new easy handle, or NULL: then ccurl_load_error() says why libcurl
 * could not be loaded, or returns NULL if libcurl is there and curl itself
 * refused. Thread-safe; the first call loads libcurl. */
CURL *ccurl_easy_init(void);
/* The dynamic loader's message when libcurl could not be loaded, or NULL. */
const char *ccurl_load_error(void);

void ccurl_easy_cleanup(CURL *curl);
const char *ccurl_easy_strerror(CURLcode code);
CURLcode ccurl_easy_send(CURL *curl, const void *buffer, size_t length, size_t *sent);
CURLcode ccurl_easy_recv(CURL *curl, void *buffer, size_t length, size_t *received);
/* As curl_slist_append; NULL (and the list unchanged) if libcurl is not loaded. */
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *text);
/* As curl_slist_free_all; NULL is allowed. */
void ccurl_slist_free_all(struct curl_slist *list);

/* The shape of CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION /
 * CURLOPT_READFUNCTION callbacks. */
typedef size_t (*ccurl_data_fn)(char *buffer, size_t size, size_t count,
                                void *context);

CURLcode ccurl_setopt_long(CURL *curl, CURLoption option, long value);
CURLcode ccurl_setopt_string(CURL *curl, CURLoption option, const char *value);
CURLcode ccurl_setopt_pointer(CURL *curl, CURLoption option, void *value);
CURLcode ccurl_setopt_data_fn(CURL *curl, CURLoption option, ccurl_data_fn fn);

/* Connects to a unix socket instead of the URL's host (Docker's socket). */
CURLcode ccurl_set_unix_socket(CURL *curl, const char *path);

CURLcode ccurl_perform(CURL *curl);

/* The last response's HTTP status, or 0. */
long ccurl_response_code(CURL *curl);

/* The connected socket of a CURLOPT_CONNECT_ONLY transfer, or -1. */
int ccurl_active_socket(CURL *curl);

#ifdef __cplusplus
}
#endif

#endif /* CCURL_H */
