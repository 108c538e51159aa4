/* mail.c: building one multipart/alternative e-mail. */
#include "wire/mail.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char mail_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes into w, a CRLF after every 76 characters when wrap;
 * returns the end. w needs 4 * (n / 3 + 1) + 2 * (n / 57 + 2) bytes. */
static char *mail_base64(char *w, const unsigned char *s, size_t n, bool wrap)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        *w++ = mail_b64[(v >> 18) & 63];
        *w++ = mail_b64[(v >> 12) & 63];
        *w++ = i + 1 < n ? mail_b64[(v >> 6) & 63] : '=';
        *w++ = i + 2 < n ? mail_b64[v & 63] : '=';
        col += 4;
        if (wrap && col >= 76 && i + 3 < n) {
            *w++ = '\r';
            *w++ = '\n';
            col = 0;
        }
    }
    return w;
}

static char *mail_b64_dup(struct arena *a, const char *s, bool wrap)
{
    size_t n = strlen(s);
    char *out = arena_alloc(a, 4 * (n / 3 + 1) + 2 * (n / 57 + 2) + 1);
    *mail_base64(out, (const unsigned char *)s, n, wrap) = '\0';
    return out;
}

const char *mail_address(struct arena *a, const char *from)
{
    const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        return arena_strndup(a, lt + 1, (size_t)(gt - lt - 1));
    return arena_strdup(a, from);
}

const char *mail_html_escape(struct arena *a, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '"' || *p == '\'') ? 6 : 1;
    char *out = arena_alloc(a, n + 1), *w = out;
    for (const char *p = s; *p; p++) {
        const char *r = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                      : *p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
        if (r) {
            memcpy(w, r, strlen(r));
            w += strlen(r);
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return out;
}

/* The display part of from encoded as RFC 2047 when not plain ASCII. */
static const char *mail_from_header(struct arena *a, const char *from)
{
    const char *lt = strchr(from, '<');
    if (!lt || lt == from)
        return from;
    bool ascii = true;
    for (const char *p = from; p < lt; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    if (ascii)
        return from;
    size_t dn = (size_t)(lt - from);
    while (dn > 0 && from[dn - 1] == ' ')
        dn--;
    return arena_printf(a, "=?UTF-8?B?%s?= %s", mail_b64_dup(a, arena_strndup(a, from, dn), false), lt);
}

char *mail_build(struct arena *a, const struct mail *m, size_t *len)
{
    if (strpbrk(m->from, "\r\n") || strpbrk(m->to, "\r\n") || strpbrk(m->message_id, "\r\n") ||
        (m->unsubscribe && strpbrk(m->unsubscribe, "\r\n<>")))
        return NULL;
    char date[64];
    struct tm tm;
    gmtime_r(&m->date, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* the boundary cannot occur in base64 text */
    const char *b = arena_printf(a, "=_chat_%lx", (unsigned long)m->date);
    char *out = arena_printf(a,
        "Date: %s\r\n"
        "From: %s\r\n"
        "To: <%s>\r\n"
        "Subject: =?UTF-8?B?%s?=\r\n"
        "Message-ID: %s\r\n"
        "%s%s%s"
        "Auto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
        "\r\n"
        "--%s\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "%s\r\n"
        "--%s\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "%s\r\n"
        "--%s--\r\n",
        date, mail_from_header(a, m->from), m->to, mail_b64_dup(a, m->subject, false),
        m->message_id, m->unsubscribe ? "List-Unsubscribe: <" : "",
        m->unsubscribe ? m->unsubscribe : "", m->unsubscribe ? ">\r\n" : "", b, b,
        mail_b64_dup(a, m->text, true), b, mail_b64_dup(a, m->html, true), b);
    *len = strlen(out);
    return out;
}
