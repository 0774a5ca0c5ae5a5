#include "kube_exec.h"

#include <dlfcn.h>
#include <stdio.h>

scion_kube_exec_run_fn kube_exec_open(const char *path, char *error, size_t error_size) {
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    snprintf(error, error_size, "%s", reason ? reason : "the dynamic loader gave no reason");
    return NULL;
  }
  void *entry = dlsym(library, SCION_KUBE_EXEC_ENTRY_SYMBOL);
  if (!entry) {
    snprintf(error, error_size, "it has no function %s", SCION_KUBE_EXEC_ENTRY_SYMBOL);
    return NULL;
  }
  return (scion_kube_exec_run_fn)entry;
}
