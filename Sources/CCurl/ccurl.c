#include "ccurl.h"

CURLcode ccurl_setopt_long(CURL *curl, CURLoption option, long value) {
  return curl_easy_setopt(curl, option, value);
}

CURLcode ccurl_setopt_string(CURL *curl, CURLoption option, const char *value) {
  return curl_easy_setopt(curl, option, value);
}

CURLcode ccurl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
  return curl_easy_setopt(curl, option, value);
}

CURLcode ccurl_setopt_data_fn(CURL *curl, CURLoption option, ccurl_data_fn fn) {
  return curl_easy_setopt(curl, option, fn);
}

CURLcode ccurl_set_unix_socket(CURL *curl, const char *path) {
  return curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, path);
}

CURLcode ccurl_perform(CURL *curl) { return curl_easy_perform(curl); }

long ccurl_response_code(CURL *curl) {
  long code = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) return 0;
  return code;
}

int ccurl_active_socket(CURL *curl) {
  curl_socket_t socket = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK) return -1;
  return socket == CURL_SOCKET_BAD ? -1 : (int)socket;
}
