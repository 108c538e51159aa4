/* jsonw.h: a JSON writer that prints straight into one growing buffer, for
 * the hot read paths that would otherwise build a json-c tree only to print
 * and free it.
 *
 * What it prints is byte for byte what json-c prints for the same values
 * with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE (http_json,
 * jsonx_text): no spaces; in strings '"' '\\' \b \f \n \r \t escaped by
 * name and the other bytes below 0x20 as \u00xx (lowercase hex); every
 * byte from 0x20 up, UTF-8 or not, copied as it is (json-c does not check
 * the UTF-8 of what it prints; text from PostgreSQL is valid UTF-8 already);
 * integers in decimal; doubles as json-c's "%.17g" with ".0" added to an
 * integral value. tests/unit/test_jsonw.c holds it to json-c's output.
 *
 * Commas and colons are the writer's business: call key before each value
 * of an object, nothing before the values of an array. The buffer is
 * malloc'ed and freed with the arena (jsonw_init); a pointer into it is
 * good until the next write; out of memory aborts, as
 * arena_alloc does. */
#ifndef CHAT_JSONW_H
#define CHAT_JSONW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* Deepest nesting the writer follows; deeper begins are ignored and make
 * jsonw_ok false. */
#define JSONW_MAX_DEPTH 64

struct jsonw {
    char *buf;        /* the text so far, NUL-terminated; owned by the arena */
    size_t len, cap;
    char **slot;      /* where the arena finds the buffer to free */
    unsigned depth;
    uint64_t used;    /* bit d: the container at depth d has a member already */
    bool after_key;   /* a key was written; its value comes next */
    bool bad;         /* unbalanced or too deep */
};

/* Starts an empty text of about hint bytes, freed at a's next reset. */
void jsonw_init(struct jsonw *w, struct arena *a, size_t hint);

/* True when every begin was ended and nothing went too deep. */
bool jsonw_ok(const struct jsonw *w);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);

/* The key of the next member of the current object (escaped like a string). */
void jsonw_key(struct jsonw *w, const char *key);

/* A string (NULL: null); the n-byte form may hold NUL bytes (\u0000). */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);

void jsonw_int(struct jsonw *w, long long v);
/* A bigint column's decimal text as a number, as json-c's int64 (strtoll,
 * clamped); NULL: null. */
void jsonw_int_text(struct jsonw *w, const char *text);
void jsonw_double(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* A json-c value printed in place (NULL: null); o is only read. */
void jsonw_json(struct jsonw *w, json_object *o);

/* A JSON value in text form as PostgreSQL's json output gives it (valid
 * JSON, with spaces after ':' and ','): copied with the whitespace outside
 * strings dropped, so it reads as json-c's plain form of the same value.
 * The strings are kept as written: PostgreSQL escapes the same characters
 * json-c does. */
void jsonw_json_text(struct jsonw *w, const char *text);

#endif
