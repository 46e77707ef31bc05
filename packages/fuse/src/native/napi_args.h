/* N-API value helpers shared by the files JavaScript calls into (addon.c, events.c,
 * js_calls.c): numbers, strings and properties in and out, the mount handle. */
#ifndef SQLREP_NAPI_ARGS_H
#define SQLREP_NAPI_ARGS_H

#include "fs.h"

/* In a function returning napi_value: a failed N-API call throws and returns. */
#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error(env, NULL, "sqlrep fuse: N-API call failed: " #call);   \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

napi_value num(napi_env env, double v);
napi_value str(napi_env env, const char *s);
void set(napi_env env, napi_value obj, const char *key, napi_value v);
/* The struct fs behind a mount handle; throws a TypeError and gives NULL if it is not one. */
struct fs *get_fs(napi_env env, napi_value v);
/* A malloc'ed copy of a string value, NULL if it is not a string. */
char *get_string(napi_env env, napi_value v);
/* obj[key] if it is a number, else fallback. */
double get_number(napi_env env, napi_value obj, const char *key, double fallback);
/* A malloc'ed copy of obj[key], NULL if it is not a string. */
char *get_string_prop(napi_env env, napi_value obj, const char *key);
int get_bool(napi_env env, napi_value v);

#endif
