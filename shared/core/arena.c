/* arena.c: bump allocator in chained blocks with cleanup hooks. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192

struct arena_block {
    struct arena_block *next;
    size_t size, used;
    max_align_t data[];
};

struct arena_hook {
    struct arena_hook *next;
    void (*fn)(void *);
    void *p;
};

struct arena {
    struct arena_block *head;   /* current block, chained to older ones */
    struct arena_hook *hooks;
    size_t total;
};

static struct arena_block *arena_block_new(size_t size)
{
    struct arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        abort();
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_new(void)
{
    struct arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->head = arena_block_new(ARENA_BLOCK);
    return a;
}

static void arena_run_hooks(struct arena *a)
{
    while (a->hooks) {
        struct arena_hook *h = a->hooks;
        a->hooks = h->next;     /* hooks live in the arena: read before run */
        h->fn(h->p);
    }
}

void arena_reset(struct arena *a)
{
    if (!a)
        return;
    arena_run_hooks(a);
    struct arena_block *b = a->head;
    /* keep the oldest block (the first one allocated) */
    while (b->next) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    b->used = 0;
    a->head = b;
    a->total = 0;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    arena_run_hooks(a);
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    if (need < n)
        abort();
    if (a->head->size - a->head->used < need) {
        size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        struct arena_block *b = arena_block_new(size);
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
    struct arena_hook *h = arena_alloc(a, sizeof(*h));
    h->fn = fn;
    h->p = p;
    h->next = a->hooks;
    a->hooks = h;
}

size_t arena_used(const struct arena *a)
{
    return a->total;
}
