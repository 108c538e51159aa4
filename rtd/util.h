/* util.h: outgoing frames shared by every socket they go to, and the
 * u64 -> pointer hash map the daemon keeps its sockets, users and rooms
 * in. Loop thread only; allocation failures abort. */
#ifndef CHAT_RTD_UTIL_H
#define CHAT_RTD_UTIL_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One text frame, shared by every socket it goes to (a fan-out allocates
 * it once). The LWS_PRE bytes before the text are lws's headroom. */
struct rt_buf {
    uint32_t refs;
    uint32_t len;
    int64_t at_us;          /* an eventos row's time (µs since the epoch) for
                               the delivery lag; 0: not an eventos row */
    unsigned char mem[];    /* LWS_PRE + len + 1 */
};
#define RT_BUF_TEXT(b) ((char *)(b)->mem + LWS_PRE)

/* A new frame holding len bytes of text (refs 1); aborts when out of
 * memory. */
struct rt_buf *rt_buf_new(const char *text, size_t len);
/* printf into a new frame. */
struct rt_buf *rt_buf_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 42["name",<json_text>] */
struct rt_buf *rt_buf_event(const char *name, const char *json_text);
/* Drops one reference; the last one frees b. NULL is ignored. */
void rt_buf_unref(struct rt_buf *b);

/* A socket's send queue entry (one per socket and frame). */
struct rt_out {
    struct rt_out *next;
    struct rt_buf *b;
};

/* ---- a small u64 -> pointer hash map ---------------------------------- */

struct rt_map_ent {
    uint64_t key;
    void *val;              /* NULL: empty slot */
};

/* Zeroed = empty. The map holds pointers, never owns what they point to. */
struct rt_map {
    struct rt_map_ent *e;
    size_t cap, n, used;    /* used counts tombstones too */
};

void *rt_map_get(const struct rt_map *m, uint64_t key);
void rt_map_put(struct rt_map *m, uint64_t key, void *val);
void rt_map_del(struct rt_map *m, uint64_t key);
/* Frees the table (not the values) and empties m. */
void rt_map_release(struct rt_map *m);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (rt_map_live(m, i)) ... */
bool rt_map_live(const struct rt_map *m, size_t i);

#endif
