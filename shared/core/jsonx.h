/* jsonx.h: json-c helpers: strict parsing, typed field access with
 * reasons, arena ownership, and timestamps in API.md's form.
 *
 * The ownership rule, held by every module (json-c counts references; a
 * missing or extra count is a leak or a double free no reviewer sees):
 *  1. A json_object that a function hands out (a return value or an out
 *     parameter) is BORROWED from the arena it was given: the arena holds
 *     the reference and drops it at reset. The receiver never puts it.
 *  2. To nest a borrowed object in another, or keep it past the arena,
 *     take a reference of your own: jsonx_add and jsonx_push do, and are
 *     the only way code outside this file nests a borrowed object.
 *  3. An object made with json_object_new_* is OWNED by its maker until
 *     it is nested with json_object_object_add/array_add (which take that
 *     reference) or handed to the arena with jsonx_own (jsonx_new_object
 *     and jsonx_new_array do both at once). Make top-level objects with
 *     those, so rule 1 holds for whoever receives them.
 *  4. Sinks borrow: http_json, evt_emit, jsonx_text only read.
 * `make check` (scripts/check-json.sh) refuses json_object_get in fcgi/. */
#ifndef CHAT_JSONX_H
#define CHAT_JSONX_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"

/* Parses len bytes of text as one JSON object (nothing but whitespace may
 * follow; nesting at most 32 deep). Returns the object, owned by the arena,
 * or NULL with e = ERR_INVALID. An empty body is an error. */
json_object *jsonx_parse_object(struct arena *a, const char *text, size_t len, struct err *e);

/* Hands o to the arena (json_object_put at reset) and returns it. */
json_object *jsonx_own(struct arena *a, json_object *o);

/* A new empty object or array, already owned by the arena (rule 3). */
json_object *jsonx_new_object(struct arena *a);
json_object *jsonx_new_array(struct arena *a);

/* Nests the borrowed v (NULL: json null) under key in o / at the end of
 * arr, taking a reference of its own (rule 2). */
void jsonx_add(json_object *o, const char *key, json_object *v);
void jsonx_push(json_object *arr, json_object *v);

/* Serialises o without escaping '/', into the arena. */
const char *jsonx_text(struct arena *a, json_object *o);

/* Field access. Each returns 0 when the field is present with the right
 * type, 1 when it is absent or null (out untouched), and -1 with e set to
 * ERR_INVALID naming the field when it has another type. Returned strings
 * are borrowed from obj. */
int jsonx_get_str(json_object *obj, const char *key, const char **out, struct err *e);
int jsonx_get_id(json_object *obj, const char *key, long long *out, struct err *e);
int jsonx_get_bool(json_object *obj, const char *key, bool *out, struct err *e);
int jsonx_get_array(json_object *obj, const char *key, json_object **out, struct err *e);
int jsonx_get_object(json_object *obj, const char *key, json_object **out, struct err *e);

/* The ids of arr, a JSON array of positive integers below INT64_MAX, as a
 * C array in the arena (*out; length json_object_array_length(arr)). Any
 * other element is -1 with ERR_INVALID "<key> debe ser una lista de ids"
 * (key names the field). The caller bounds the length. */
int jsonx_ids(struct arena *a, json_object *arr, const char *key, long long **out,
              struct err *e);

/* json_object_object_add for the builders of a fresh object: key is a
 * string literal (kept by pointer, not copied) not yet in o, and v a new
 * object o takes over (NULL: json null). Cheaper than the plain add in the
 * hot projections (one Mensaje has ~20 keys). */
static inline void jsonx_set(json_object *o, const char *key, json_object *v)
{
    json_object_object_add_ex(o, key, v,
                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

/* A new string or json null for s == NULL. */
json_object *jsonx_str(const char *s);

/* A new int64 from decimal text (a bigint column), or null for NULL. */
json_object *jsonx_id(const char *text);

/* Adds a string field holding the timestamp pg_ts (PostgreSQL text output in
 * UTC, "2026-11-20 15:04:05.123456+00") as "2026-11-20T15:04:05.123Z";
 * null when pg_ts is NULL. */
json_object *jsonx_ts(const char *pg_ts);

/* The same timestamp as text: written into out and returned; pg_ts itself
 * when it is not in that form; NULL for NULL. */
#define JSONX_TS_MAX 32
const char *jsonx_ts_text(const char *pg_ts, char out[JSONX_TS_MAX]);

/* Counts the characters (code points) of a UTF-8 string; returns -1 when s
 * is not valid UTF-8 or holds a NUL/control character other than \t \n \r. */
long jsonx_utf8_chars(const char *s);

#endif
