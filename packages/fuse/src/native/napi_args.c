/* Small N-API value helpers: JavaScript values in and out, the mount handle. */
#include "napi_args.h"

#include <stdlib.h>

napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

napi_value str(napi_env env, const char *s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

void set(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

struct fs *get_fs(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "sqlrep fuse: not a mount handle");
    return NULL;
  }
  return p;
}

char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  napi_get_value_string_utf8(env, v, out, len + 1, &len);
  return out;
}

double get_number(napi_env env, napi_value obj, const char *key, double fallback) {
  napi_value v;
  napi_valuetype t;
  double out = fallback;
  if (napi_get_named_property(env, obj, key, &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok && t == napi_number)
    napi_get_value_double(env, v, &out);
  return out;
}

char *get_string_prop(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_string)
    return NULL;
  return get_string(env, v);
}

int get_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}
