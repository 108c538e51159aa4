/* arena.h: per-request memory pool, released as a whole in one call. */
#ifndef CHAT_ARENA_H
#define CHAT_ARENA_H

#include <stddef.h>

struct arena;

/* Creates an empty arena. Returns NULL when out of memory. */
struct arena *arena_new(void);

/* Frees every block and runs every cleanup hook; NULL is accepted. */
void arena_free(struct arena *a);

/* Runs the cleanup hooks (newest first) and drops every allocation, keeping
 * the first block for reuse. The arena stays usable. */
void arena_reset(struct arena *a);

/* Returns zeroed memory that lives until the next reset; aborts when out of
 * memory (a request cannot go on without it). */
void *arena_alloc(struct arena *a, size_t n);

/* Copies s (NULL gives NULL). */
char *arena_strdup(struct arena *a, const char *s);

/* Copies the first n bytes of s and terminates them. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(p) to run at the next reset or free (used for PGresult and
 * json_object). Newest first. */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

/* Total bytes handed out since the last reset (for tests and limits). */
size_t arena_used(const struct arena *a);

#endif
