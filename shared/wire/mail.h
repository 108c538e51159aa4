/* mail.h: one e-mail as bytes (RFC 5322 + MIME multipart/alternative,
 * plain text and HTML, UTF-8 in base64) and HTML escaping for its parts.
 * No I/O: cron/digest.c hands the bytes to libcurl's SMTP client. */
#ifndef CHAT_MAIL_H
#define CHAT_MAIL_H

#include <stddef.h>
#include <time.h>

#include "core/arena.h"

struct mail {
    const char *from;           /* "Nombre <a@b>" or "a@b": no CR/LF */
    const char *to;             /* a bare address: no CR/LF */
    const char *subject;        /* UTF-8, encoded as RFC 2047 */
    const char *message_id;     /* "<...@...>" */
    const char *unsubscribe;    /* URL for List-Unsubscribe, or NULL */
    time_t date;
    const char *text;           /* UTF-8 */
    const char *html;           /* UTF-8 */
};

/* The message as CRLF-terminated bytes in the arena (*len set). Returns
 * NULL when from or to holds CR or LF. */
char *mail_build(struct arena *a, const struct mail *m, size_t *len);

/* The bare address of "Nombre <a@b>" (or the text itself), in the arena. */
const char *mail_address(struct arena *a, const char *from);

/* s with & < > " ' escaped, in the arena. */
const char *mail_html_escape(struct arena *a, const char *s);

#endif
