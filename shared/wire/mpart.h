/* mpart.h: a streaming multipart/form-data parser (RFC 7578): the body is
 * pulled through a read callback in fixed-size chunks and each part's bytes
 * are pushed to a sink as they arrive, so a file part is never held whole
 * in memory. */
#ifndef CHAT_MPART_H
#define CHAT_MPART_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Longest boundary RFC 2046 allows. */
#define MPART_BOUNDARY_MAX 70

/* The headers of one part, as the sink sees them in begin(). */
struct mpart_part {
    char name[128];             /* form field name ("" when absent) */
    bool has_filename;          /* a filename parameter was present */
    char filename[1024];        /* raw client file name (UTF-8 from
                                 * filename*, else as sent; unsanitised) */
    char ctype[128];            /* the part's Content-Type, "" when absent */
};

/* What the parser calls. Each callback returns 0, or -1 with e set to stop
 * the parse (mpart_parse then returns -1 with that e). data() may be called
 * many times per part, with any chunking. begin() and end() always pair. */
struct mpart_sink {
    int (*begin)(void *ud, const struct mpart_part *p, struct err *e);
    int (*data)(void *ud, const char *buf, size_t n, struct err *e);
    int (*end)(void *ud, struct err *e);
    void *ud;
};

/* Reads up to n bytes into buf: returns the count, 0 at the end of the
 * body, -1 on a read error. */
typedef long (*mpart_read_fn)(void *ud, char *buf, size_t n);

/* Extracts the boundary parameter of a "multipart/form-data; boundary=..."
 * Content-Type (quoted or not) into out (NUL-terminated). Returns 0, or -1
 * when ct is not multipart/form-data or the boundary is missing, empty,
 * longer than MPART_BOUNDARY_MAX or does not fit outlen. */
int mpart_boundary(const char *ct, char *out, size_t outlen);

/* Parses one multipart body delimited by boundary, pulling bytes from rd
 * and pushing parts to sink, and returns 0 once the closing delimiter has
 * been read (what follows it, the epilogue, is left unread). A body that
 * ends before the closing delimiter, a part header block over 8 KiB or
 * malformed framing is ERR_INVALID; a read error is ERR_INVALID too. */
int mpart_parse(const char *boundary, mpart_read_fn rd, void *rud,
                const struct mpart_sink *sink, struct err *e);

#endif
