/* A host built against the frozen 1.0 header: short structs everywhere.
 * Loads a plugin library, negotiates, makes one call and prints
 *   status=<call status> abi=<negotiated> canary=<intact|overwritten>
 *   <response bytes>
 * The plugin API struct sits in a larger block whose bytes beyond the 1.0
 * struct_size are a canary: a plugin that writes past the struct_size it
 * was given overwrites it. Usage: old_host LIBRARY OPERATION [REQUEST] */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scion_plugin.h"

static void *host_alloc(size_t size) { return malloc(size ? size : 1); }
static void host_log(void *context, int32_t level, const char *message, size_t length) {
  (void)context; (void)level; fprintf(stderr, "log: %.*s\n", (int)length, message);
}

int main(int argc, char **argv) {
  if (argc < 3) return 64;
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) { fprintf(stderr, "%s\n", dlerror()); return 65; }
  scion_plugin_entry_fn entry = (scion_plugin_entry_fn)dlsym(library, SCION_PLUGIN_ENTRY_SYMBOL);
  if (!entry) return 66;
  scion_host_api host = { sizeof(scion_host_api), 1, NULL, host_alloc, host_log };
  unsigned char block[sizeof(scion_plugin_api) + 64];
  memset(block, 0xA5, sizeof block);
  scion_plugin_api *plugin = (scion_plugin_api *)block;
  memset(plugin, 0, sizeof *plugin);
  plugin->struct_size = sizeof(scion_plugin_api);
  int32_t status = entry(&host, plugin);
  if (status != SCION_OK) { printf("entry=%d abi=%u\n", status, plugin->abi_version); return 0; }
  const char *request = argc > 3 ? argv[3] : "{}";
  scion_stream stream = { sizeof(scion_stream), NULL, NULL };
  scion_buffer response = { sizeof(scion_buffer), NULL, 0 };
  status = plugin->call(plugin->instance, argv[2], (const uint8_t *)request, strlen(request), &stream, &response);
  int intact = 1;
  for (size_t i = sizeof(scion_plugin_api); i < sizeof block; i++) if (block[i] != 0xA5) intact = 0;
  printf("status=%d abi=%u canary=%s\n", status, plugin->abi_version, intact ? "intact" : "overwritten");
  fwrite(response.data, 1, response.length, stdout);
  printf("\n");
  free(response.data);
  return 0;
}
