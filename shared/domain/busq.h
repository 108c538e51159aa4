/* busq.h: message and announcement search (GET /buscar) and the history
 * page around one message (GET /chats/{id}/mensajes?alrededor=).
 *
 * The index is mensajes.busqueda / comunicados.busqueda (sql/008): Spanish
 * stemming over accent-free words, kept by PostgreSQL itself, so an edit, a
 * deletion or a pruned row changes what is found in the same transaction.
 * Only what the caller can see is searched: messages of live chats the
 * caller is a member of now (a member who leaves stops finding them),
 * never deleted or sistema messages; announcements addressed to or sent by
 * the caller, never deleted ones. Read-only: no events, no locks. */
#ifndef CHAT_BUSQ_H
#define CHAT_BUSQ_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* Longest search text, in characters. */
#define BUSQ_MAX_CHARS 200

/* Relevance is computed over the newest matches only, at most this many
 * per source: a word found in a million messages ranks the newest ones
 * rather than scoring all of them. Date order has no such bound. */
#define BUSQ_CANDIDATES 2000

/* A search as the handler parsed it. Strings are borrowed. */
struct busq_in {
    const char *q;          /* websearch syntax: words, "a phrase", -excluded */
    long long chat_id;      /* 0: every chat (and announcements) */
    long long autor_id;     /* 0: anyone */
    const char *desde;      /* YYYY-MM-DD (inclusive) or NULL */
    const char *hasta;      /* YYYY-MM-DD (inclusive) or NULL */
    const char *tipo;       /* NULL, a Mensaje tipo but sistema, or "comunicado" */
    int con_archivos;       /* -1 either, 1 only with a file, 0 only without */
    bool por_fecha;         /* orden=fecha: newest first; else relevance */
    const char *cursor;     /* from a previous answer, or NULL */
    int limite;             /* 1..200 */
};

/* Checks what the handler cannot: q (1..BUSQ_MAX_CHARS characters, not
 * blank), the dates (real calendar dates, desde <= hasta), tipo, and the
 * cursor's shape. 0 or -1 with ERR_INVALID naming the parameter. */
int busq_check(const struct busq_in *in, struct err *e);

/* Runs the search as p: {resultados: [{mensaje, chat: {id, tipo, nombre},
 * comunicado, extracto, marcas}], cursor, hay_mas}. A hit is a message
 * (comunicado null) or an announcement (mensaje and chat null). cursor is
 * null when hay_mas is false. A chat_id p is not a member of is
 * ERR_NOT_FOUND. A text with no searchable word (only stop words or
 * punctuation) finds nothing. Owned by the arena. */
int busq_search(struct db *d, struct arena *a, const struct principal *p,
                const struct busq_in *in, json_object **out, struct err *e);

/* Splits ts_headline output that marks matches with \x02 ... \x03 into the
 * plain text (*extracto, in the arena) and the array of [start, end)
 * offsets in code points (*marcas, a new array the caller owns). Control
 * characters cannot occur in stored text, so the markers are unambiguous.
 * An unpaired marker is dropped. */
void busq_marks(struct arena *a, const char *headline, const char **extracto,
                json_object **marcas);

/* The page of chat_id's history around mensaje_id, for a member (or a
 * holder of 565): up to limite messages, newest first, about half older
 * and half newer than it, the message itself included. *mas_antes and
 * *mas_despues tell whether older / newer ones exist beyond the page.
 * A message not in that chat is ERR_NOT_FOUND. */
int busq_around(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                long long mensaje_id, int limite, json_object **out_array, bool *mas_antes,
                bool *mas_despues, struct err *e);

#endif
