/* fuzz_mpart.c: the streaming multipart/form-data parser (POST /media).
 * The first byte picks the read chunk size (so boundaries fall across
 * reads), the next line is the Content-Type header, the rest the body. */
#include <stdint.h>
#include <string.h>

#include "wire/mpart.h"

struct src {
    const uint8_t *p;
    size_t n, chunk;
};

static long rd(void *ud, char *buf, size_t n)
{
    struct src *s = ud;
    if (n > s->chunk)
        n = s->chunk;
    if (n > s->n)
        n = s->n;
    memcpy(buf, s->p, n);
    s->p += n;
    s->n -= n;
    return (long)n;
}

struct sink_state {
    int depth;
    size_t bytes;
    unsigned char last;
};

static int begin(void *ud, const struct mpart_part *p, struct err *e)
{
    struct sink_state *st = ud;
    (void)e;
    /* the parser promises NUL-terminated fields and paired begin/end */
    if (st->depth != 0 || strlen(p->name) >= sizeof(p->name) ||
        strlen(p->filename) >= sizeof(p->filename) || strlen(p->ctype) >= sizeof(p->ctype))
        __builtin_trap();
    st->depth++;
    return 0;
}

static int data(void *ud, const char *buf, size_t n, struct err *e)
{
    struct sink_state *st = ud;
    (void)e;
    if (st->depth != 1)
        __builtin_trap();
    /* the bytes handed over must be readable: ASan checks these reads */
    for (size_t i = 0; i < n; i++)
        st->last ^= (unsigned char)buf[i];
    st->bytes += n;
    return 0;
}

static int end(void *ud, struct err *e)
{
    struct sink_state *st = ud;
    (void)e;
    if (st->depth != 1)
        __builtin_trap();
    st->depth--;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data_, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = (size_t)data_[0] % 64 + 1;
    const uint8_t *p = data_ + 1, *nl = memchr(p, '\n', size - 1);
    if (!nl || (size_t)(nl - p) > 512)
        return 0;
    char ct[513];
    memcpy(ct, p, (size_t)(nl - p));
    ct[nl - p] = '\0';
    char boundary[MPART_BOUNDARY_MAX + 1];
    if (mpart_boundary(ct, boundary, sizeof(boundary)) < 0)
        return 0;
    struct src s = { nl + 1, size - (size_t)(nl + 1 - data_), chunk };
    struct sink_state st = { 0, 0, 0 };
    struct mpart_sink sink = { begin, data, end, &st };
    struct err e = { ERR_NONE, "" };
    mpart_parse(boundary, rd, &s, &sink, &e);
    return 0;
}
