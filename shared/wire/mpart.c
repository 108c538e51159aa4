/* mpart.c: streaming multipart/form-data parser. */
#include "wire/mpart.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MPART_BUF (64 * 1024)
#define MPART_HDR_MAX (8 * 1024)

int mpart_boundary(const char *ct, char *out, size_t outlen)
{
    static const char type[] = "multipart/form-data";
    if (!ct || strncasecmp(ct, type, sizeof(type) - 1) != 0)
        return -1;
    const char *p = ct + sizeof(type) - 1;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        const char *name = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        size_t nl = (size_t)(p - name);
        while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
            nl--;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        char val[MPART_BOUNDARY_MAX + 2];
        size_t vl = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                if (vl > MPART_BOUNDARY_MAX)
                    return -1;
                val[vl++] = *p;
            }
            if (*p != '"')
                return -1;
            p++;
        } else {
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (vl > MPART_BOUNDARY_MAX)
                    return -1;
                val[vl++] = *p++;
            }
        }
        if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
            if (vl == 0 || vl > MPART_BOUNDARY_MAX || vl + 1 > outlen)
                return -1;
            memcpy(out, val, vl);
            out[vl] = '\0';
            return 0;
        }
    }
    return -1;
}

/* Decodes %XX escapes of s[0..n) into out (at most outlen-1 bytes);
 * returns -1 on a bad escape. */
static int mpart_pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return -1;
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            c = (unsigned char)strtoul(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= outlen)
            break;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Copies s into out, cut to outlen-1 bytes. */
static void mpart_copy(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Parses the parameters of a Content-Disposition value (after its first
 * ';') into p. Unknown parameters are ignored. */
static void mpart_disposition(const char *v, size_t n, struct mpart_part *p)
{
    const char *end = v + n;
    const char *s = memchr(v, ';', n);
    bool have_star = false;
    while (s && s < end) {
        s++;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        const char *name = s;
        while (s < end && *s != '=' && *s != ';')
            s++;
        size_t nl = (size_t)(s - name);
        while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
            nl--;
        if (s >= end || *s != '=')
            continue;
        s++;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        char val[1024];
        size_t vl = 0;
        if (s < end && *s == '"') {
            /* Browsers percent-encode '"' and send '\' raw; curl escapes
             * both with '\'. Only \" is taken as an escape. */
            for (s++; s < end && *s != '"'; s++) {
                if (*s == '\\' && s + 1 < end && s[1] == '"')
                    s++;
                if (vl + 1 < sizeof(val))
                    val[vl++] = *s;
            }
            if (s < end)
                s++;
        } else {
            while (s < end && *s != ';') {
                if (vl + 1 < sizeof(val))
                    val[vl++] = *s;
                s++;
            }
            while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
                vl--;
        }
        val[vl] = '\0';
        if (nl == 4 && strncasecmp(name, "name", 4) == 0) {
            mpart_copy(p->name, sizeof(p->name), val);
        } else if (nl == 8 && strncasecmp(name, "filename", 8) == 0) {
            p->has_filename = true;
            if (!have_star)
                mpart_copy(p->filename, sizeof(p->filename), val);
        } else if (nl == 9 && strncasecmp(name, "filename*", 9) == 0) {
            /* RFC 5987: charset'language'pct-encoded; only UTF-8 */
            const char *q1 = strchr(val, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
            if (q2 && (size_t)(q1 - val) == 5 && strncasecmp(val, "utf-8", 5) == 0) {
                char dec[sizeof(p->filename)];
                if (mpart_pct_decode(q2 + 1, strlen(q2 + 1), dec, sizeof(dec)) == 0) {
                    p->has_filename = true;
                    have_star = true;
                    mpart_copy(p->filename, sizeof(p->filename), dec);
                }
            }
        }
    }
}

/* Parses a part's header block hdr[0..n) (lines ending CRLF). */
static void mpart_headers(const char *hdr, size_t n, struct mpart_part *p)
{
    memset(p, 0, sizeof(*p));
    const char *s = hdr, *end = hdr + n;
    while (s < end) {
        const char *eol = memmem(s, (size_t)(end - s), "\r\n", 2);
        if (!eol)
            eol = end;
        const char *colon = memchr(s, ':', (size_t)(eol - s));
        if (colon) {
            size_t nl = (size_t)(colon - s);
            const char *v = colon + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(eol - v);
            if (nl == 19 && strncasecmp(s, "Content-Disposition", 19) == 0) {
                mpart_disposition(v, vl, p);
            } else if (nl == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
                if (vl >= sizeof(p->ctype))
                    vl = sizeof(p->ctype) - 1;
                memcpy(p->ctype, v, vl);
                p->ctype[vl] = '\0';
            }
        }
        s = eol + 2;
    }
}

enum mpart_state { MP_PREAMBLE, MP_BODY, MP_AFTER_DELIM, MP_HEADERS };

struct mpart {
    char *buf;
    size_t len, cap;
    bool eof;
    mpart_read_fn rd;
    void *rud;
};

/* Appends what the reader gives to the buffer; sets eof at its end. */
static int mpart_fill(struct mpart *m, struct err *e)
{
    if (m->eof || m->len == m->cap)
        return 0;
    long r = m->rd(m->rud, m->buf + m->len, m->cap - m->len);
    if (r < 0)
        return err_set(e, ERR_INVALID, "No se pudo leer el cuerpo de la solicitud");
    if (r == 0)
        m->eof = true;
    m->len += (size_t)r;
    return 0;
}

static void mpart_consume(struct mpart *m, size_t n)
{
    memmove(m->buf, m->buf + n, m->len - n);
    m->len -= n;
}

static int mpart_truncated(struct err *e)
{
    return err_set(e, ERR_INVALID, "Cuerpo multipart incompleto");
}

int mpart_parse(const char *boundary, mpart_read_fn rd, void *rud,
                const struct mpart_sink *sink, struct err *e)
{
    int ret = -1;
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > MPART_BOUNDARY_MAX)
        return err_set(e, ERR_INVALID, "Boundary multipart inválido");
    char delim[MPART_BOUNDARY_MAX + 5];
    size_t dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    struct mpart m = { .cap = MPART_BUF, .rd = rd, .rud = rud };
    m.buf = malloc(m.cap);
    if (!m.buf)
        return err_set(e, ERR_INTERNAL, NULL);
    /* The first delimiter may open the body with no CRLF before it:
     * pretend there is one so every delimiter looks the same. */
    memcpy(m.buf, "\r\n", 2);
    m.len = 2;
    enum mpart_state st = MP_PREAMBLE;
    bool in_part = false;
    struct mpart_part part;
    for (;;) {
        if (mpart_fill(&m, e) < 0)
            goto cleanup;
        if (st == MP_PREAMBLE || st == MP_BODY) {
            char *hit = memmem(m.buf, m.len, delim, dlen);
            if (hit) {
                size_t n = (size_t)(hit - m.buf);
                if (st == MP_BODY && n && sink->data(sink->ud, m.buf, n, e) < 0)
                    goto cleanup;
                mpart_consume(&m, n + dlen);
                st = MP_AFTER_DELIM;
                continue;
            }
            if (m.eof) {
                mpart_truncated(e);
                goto cleanup;
            }
            /* keep what could be the start of a delimiter */
            if (m.len > dlen - 1) {
                size_t n = m.len - (dlen - 1);
                if (st == MP_BODY && sink->data(sink->ud, m.buf, n, e) < 0)
                    goto cleanup;
                mpart_consume(&m, n);
            }
            continue;
        }
        if (st == MP_AFTER_DELIM) {
            if (m.len < 2 && !m.eof)
                continue;
            if (m.len < 2) {
                mpart_truncated(e);
                goto cleanup;
            }
            if (in_part) {
                in_part = false;
                if (sink->end(sink->ud, e) < 0)
                    goto cleanup;
            }
            if (m.buf[0] == '-' && m.buf[1] == '-') {
                ret = 0;
                goto cleanup;
            }
            /* transport padding (spaces, tabs) may precede the CRLF */
            size_t i = 0;
            while (i < m.len && (m.buf[i] == ' ' || m.buf[i] == '\t'))
                i++;
            if (i == m.len && !m.eof && i < 256)
                continue;
            if (i + 2 > m.len || m.buf[i] != '\r' || m.buf[i + 1] != '\n') {
                if (i + 2 > m.len && m.eof)
                    mpart_truncated(e);
                else
                    err_set(e, ERR_INVALID, "Delimitador multipart mal formado");
                goto cleanup;
            }
            mpart_consume(&m, i + 2);
            st = MP_HEADERS;
            continue;
        }
        /* MP_HEADERS */
        size_t hlen;
        if (m.len >= 2 && m.buf[0] == '\r' && m.buf[1] == '\n') {
            hlen = 0;   /* a part with no headers at all */
        } else {
            char *hend = memmem(m.buf, m.len < MPART_HDR_MAX ? m.len : MPART_HDR_MAX,
                                "\r\n\r\n", 4);
            if (!hend) {
                if (m.len >= MPART_HDR_MAX) {
                    err_set(e, ERR_INVALID, "Encabezados de parte multipart demasiado largos");
                    goto cleanup;
                }
                if (m.eof) {
                    mpart_truncated(e);
                    goto cleanup;
                }
                continue;
            }
            hlen = (size_t)(hend - m.buf) + 2;
        }
        mpart_headers(m.buf, hlen, &part);
        mpart_consume(&m, hlen + 2);
        if (sink->begin(sink->ud, &part, e) < 0)
            goto cleanup;
        in_part = true;
        st = MP_BODY;
    }
cleanup:
    if (in_part && ret < 0) {
        struct err ignore;
        sink->end(sink->ud, &ignore);
    }
    free(m.buf);
    return ret;
}
