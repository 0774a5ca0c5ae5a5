/*
 * ccurl.h — typed wrappers over libcurl's variadic calls, which Swift cannot
 * call directly (curl_easy_setopt, curl_easy_getinfo). Everything else in
 * libcurl (curl_easy_init, curl_easy_perform, curl_easy_send/recv,
 * curl_slist_append, ...) is called from Swift as is.
 */
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

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
