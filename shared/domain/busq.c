/* busq.c: search over messages and announcements, and the history page
 * around one message. */
#include "domain/busq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jsonx.h"
#include "core/route.h"
#include "domain/chat.h"
#include "domain/comunicado.h"
#include "domain/msg.h"
#include "domain/usr.h"

/* The query, written inline (not in a CTE) so the planner sees the words
 * and picks the index walk for common ones and the GIN index for rare
 * ones. */
#define BQ "websearch_to_tsquery('public.chat_es'::regconfig, $2)"

/* Matches are wrapped in \x02 .. \x03 (see busq_marks). */
#define BQ_HEADLINE_OPTS                                                         \
    "'StartSel=\"' || chr(2) || '\", StopSel=\"' || chr(3) || '\", MaxWords=30,"   \
    " MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=\" … \"'"

/* The filters shared by both message queries: $1 the caller's chat ids,
 * $2 the text, $3 autor, $4 desde, $5 hasta, $6 tipo, $7 con_archivos. */
#define BQ_MSG_WHERE                                                             \
    " WHERE m.chat_id = ANY($1::bigint[]) AND m.busqueda @@ " BQ                   \
    " AND ($3::bigint IS NULL OR m.autor_id = $3)"                               \
    " AND ($4::date IS NULL OR m.created_at >= $4::date)"                        \
    " AND ($5::date IS NULL OR m.created_at < $5::date + 1)"                     \
    " AND ($6::text IS NULL OR m.tipo = $6)"                                     \
    " AND ($7::boolean IS NULL OR (m.media_id IS NOT NULL) = $7)"

/* What the page needs of each message hit: id, rank, created_at in
 * microseconds, the chat's tipo and name as the caller sees it (the other
 * person's for a 1:1, masked when deactivated), and the excerpt. $8 is the
 * caller. */
#define BQ_MSG_OUTER(INNER, ORDER)                                               \
    "SELECT y.id, y.rank, (extract(epoch FROM m.created_at) * 1000000)::bigint,"  \
    " c.id, c.tipo, CASE WHEN c.tipo = 'grupo' THEN c.nombre ELSE"               \
    "  (SELECT " USR_SHOWN_NOMBRE("u")                                          \
    "   FROM usuarios u WHERE u.id = CASE WHEN c.directo_a = $8 THEN c.directo_b" \
    "   ELSE c.directo_a END) END,"                                              \
    " ts_headline('public.chat_es'::regconfig, concat_ws(' · ', nullif(m.contenido, ''),"  \
    "  chat_busqueda_archivo(md.nombre)), " BQ ", " BQ_HEADLINE_OPTS ")"          \
    " FROM (" INNER ") y JOIN mensajes m ON m.id = y.id JOIN chats c ON c.id = m.chat_id" \
    " LEFT JOIN media md ON md.id = m.media_id ORDER BY " ORDER

/* Relevance: the newest $12 matches ranked, after position ($9, $10). */
static const char busq_sql_msg_rank[] = BQ_MSG_OUTER(
    "SELECT x.id, x.rank FROM (SELECT m.id, ts_rank_cd(m.busqueda, " BQ ", 1)::real AS rank"
    " FROM mensajes m" BQ_MSG_WHERE " ORDER BY m.id DESC LIMIT $12) x"
    " WHERE $10::bigint IS NULL OR (x.rank, x.id) < ($9::real, $10::bigint)"
    " ORDER BY x.rank DESC, x.id DESC LIMIT $11",
    "y.rank DESC, y.id DESC");

/* Date: newest first, after position $10 ($9 unused but typed). */
static const char busq_sql_msg_date[] = BQ_MSG_OUTER(
    "SELECT m.id, 0::real AS rank FROM mensajes m" BQ_MSG_WHERE
    " AND ($9::real IS NULL OR true) AND ($10::bigint IS NULL OR m.id < $10)"
    " ORDER BY m.id DESC LIMIT $11",
    "y.id DESC");

/* Announcements: addressed to or sent by $1, live. $3..$5 as above, $6
 * con_archivos, $7/$8 position, $9 limit, $10 candidates. */
#define BQ_COM_WHERE                                                             \
    " WHERE k.deleted_at IS NULL AND k.busqueda @@ " BQ                          \
    " AND (k.autor_id = $1 OR EXISTS (SELECT 1 FROM comunicado_destinatarios dd"  \
    "  WHERE dd.comunicado_id = k.id AND dd.usuario_id = $1))"                   \
    " AND ($3::bigint IS NULL OR k.autor_id = $3)"                               \
    " AND ($4::date IS NULL OR k.created_at >= $4::date)"                        \
    " AND ($5::date IS NULL OR k.created_at < $5::date + 1)"                     \
    " AND ($6::boolean IS NULL OR (k.media_id IS NOT NULL) = $6)"

#define BQ_COM_OUTER(INNER, ORDER)                                               \
    "SELECT y.id, y.rank, (extract(epoch FROM k.created_at) * 1000000)::bigint,"  \
    " ts_headline('public.chat_es'::regconfig, k.titulo || ' — ' || k.contenido, " BQ ", " \
    BQ_HEADLINE_OPTS ")"                                                          \
    " FROM (" INNER ") y JOIN comunicados k ON k.id = y.id ORDER BY " ORDER

static const char busq_sql_com_rank[] = BQ_COM_OUTER(
    "SELECT x.id, x.rank FROM (SELECT k.id, ts_rank_cd(k.busqueda, " BQ ", 1)::real AS rank"
    " FROM comunicados k" BQ_COM_WHERE " ORDER BY k.id DESC LIMIT $10) x"
    " WHERE $8::bigint IS NULL OR (x.rank, x.id) < ($7::real, $8::bigint)"
    " ORDER BY x.rank DESC, x.id DESC LIMIT $9",
    "y.rank DESC, y.id DESC");

static const char busq_sql_com_date[] = BQ_COM_OUTER(
    "SELECT k.id, 0::real AS rank FROM comunicados k" BQ_COM_WHERE
    " AND ($7::real IS NULL OR true) AND ($8::bigint IS NULL OR k.id < $8)"
    " ORDER BY k.id DESC LIMIT $9",
    "y.id DESC");

/* The caller's live chats (or just chat_id when given). */
static const char busq_sql_chats[] =
    "SELECT coalesce(array_agg(uc.chat_id), '{}')::text FROM usuarios_chat uc"
    " JOIN chats c ON c.id = uc.chat_id AND c.deleted_at IS NULL"
    " WHERE uc.usuario_id = $1";

/* Is there a word to search for at all (stop words alone make none)? */
static const char busq_sql_empty[] = "SELECT numnode(" BQ ") = 0 FROM (SELECT $1::int) z";

/* ---- input -------------------------------------------------------------- */

static bool busq_date_ok(const char *s)
{
    int y, m, dd;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || s[4] != '-' ||
        s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd, .tm_hour = 12 };
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    return y >= 1900 && y <= 9999 && back.tm_year == y - 1900 && back.tm_mon == m - 1 &&
           back.tm_mday == dd;
}

static const char *const busq_tipos[] = {
    "texto", "imagen", "audio", "video", "documento", "encuesta", "comunicado", NULL,
};

/* A stream position inside the cursor: state 0 not started, 1 after
 * (rank, id), 2 exhausted. */
struct busq_pos {
    int state;
    float rank;
    long long id;
};

/* Cursor text: "<r|f>~<pos>~<pos>", each pos "-" (not started), "x"
 * (exhausted) or "<rank>_<id>". */
static int busq_pos_parse(const char *s, size_t n, struct busq_pos *p)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strcmp(buf, "-") == 0) {
        p->state = 0;
        return 0;
    }
    if (strcmp(buf, "x") == 0) {
        p->state = 2;
        return 0;
    }
    char *us = strchr(buf, '_'), *end;
    if (!us)
        return -1;
    *us = '\0';
    p->rank = strtof(buf, &end);
    if (end == buf || *end)
        return -1;
    if (route_parse_id(us + 1, &p->id) < 0)
        return -1;
    p->state = 1;
    return 0;
}

static int busq_cursor_parse(const char *c, bool por_fecha, struct busq_pos *pm,
                             struct busq_pos *pc)
{
    const char *t1, *t2;
    if (!c || strlen(c) > 120 || c[0] != (por_fecha ? 'f' : 'r') || c[1] != '~')
        return -1;
    t1 = strchr(c + 2, '~');
    if (!t1)
        return -1;
    t2 = t1 + 1;
    if (strchr(t2, '~'))
        return -1;
    if (busq_pos_parse(c + 2, (size_t)(t1 - (c + 2)), pm) < 0 ||
        busq_pos_parse(t2, strlen(t2), pc) < 0)
        return -1;
    return 0;
}

int busq_check(const struct busq_in *in, struct err *e)
{
    long n = in->q ? jsonx_utf8_chars(in->q) : -1;
    if (n < 0)
        return err_set(e, ERR_INVALID, "q es obligatorio (texto válido)");
    if (n > BUSQ_MAX_CHARS)
        return err_set(e, ERR_INVALID, "q admite hasta 200 caracteres");
    bool blank = true;
    for (const char *s = in->q; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            blank = false;
    if (blank)
        return err_set(e, ERR_INVALID, "q es obligatorio");
    if (in->desde && !busq_date_ok(in->desde))
        return err_set(e, ERR_INVALID, "desde debe ser una fecha AAAA-MM-DD");
    if (in->hasta && !busq_date_ok(in->hasta))
        return err_set(e, ERR_INVALID, "hasta debe ser una fecha AAAA-MM-DD");
    if (in->desde && in->hasta && strcmp(in->desde, in->hasta) > 0)
        return err_set(e, ERR_INVALID, "desde es posterior a hasta");
    if (in->tipo) {
        bool ok = false;
        for (const char *const *t = busq_tipos; *t; t++)
            ok = ok || strcmp(*t, in->tipo) == 0;
        if (!ok)
            return err_set(e, ERR_INVALID,
                           "tipo debe ser texto, imagen, audio, video, documento, encuesta o comunicado");
    }
    if (in->limite < 1 || in->limite > 200)
        return err_set(e, ERR_INVALID, "limite debe ser un entero entre 1 y 200");
    struct busq_pos pm, pc;
    if (in->cursor && busq_cursor_parse(in->cursor, in->por_fecha, &pm, &pc) < 0)
        return err_set(e, ERR_INVALID, "cursor no válido para esta búsqueda");
    return 0;
}

/* ---- excerpts ------------------------------------------------------------ */

void busq_marks(struct arena *a, const char *headline, const char **extracto,
                json_object **marcas)
{
    size_t len = strlen(headline);
    char *out = arena_alloc(a, len + 1), *w = out;
    json_object *arr = json_object_new_array();
    long chars = 0, start = -1;
    for (const unsigned char *p = (const unsigned char *)headline; *p; p++) {
        if (*p == 0x02) {
            start = chars;
            continue;
        }
        if (*p == 0x03) {
            if (start >= 0 && chars > start) {
                json_object *m = json_object_new_array();
                json_object_array_add(m, json_object_new_int64(start));
                json_object_array_add(m, json_object_new_int64(chars));
                json_object_array_add(arr, m);
            }
            start = -1;
            continue;
        }
        /* a code point starts at every byte that is not a continuation */
        if ((*p & 0xC0) != 0x80)
            chars++;
        *w++ = (char)*p;
    }
    *w = '\0';
    *extracto = out;
    *marcas = arr;
}

/* ---- search -------------------------------------------------------------- */

/* One hit before it becomes JSON. */
struct busq_hit {
    bool com;               /* announcement (else message) */
    long long id;
    float rank;
    long long us;           /* created_at, microseconds */
    int row;                /* row in its result */
};

/* Is h before g in the answer's order? */
static bool busq_before(const struct busq_hit *h, const struct busq_hit *g, bool por_fecha)
{
    if (!por_fecha && h->rank != g->rank)
        return h->rank > g->rank;
    if (h->us != g->us)
        return h->us > g->us;
    if (h->com != g->com)
        return h->com;
    return h->id > g->id;
}

static const char *busq_pos_rank(struct arena *a, const struct busq_pos *p)
{
    return p->state == 1 ? arena_printf(a, "%.9g", (double)p->rank) : NULL;
}

static const char *busq_pos_id(struct arena *a, const struct busq_pos *p)
{
    return p->state == 1 ? db_ll(a, p->id) : NULL;
}

static const char *busq_pos_text(struct arena *a, const struct busq_pos *p)
{
    if (p->state == 0)
        return "-";
    if (p->state == 2)
        return "x";
    return arena_printf(a, "%.9g_%lld", (double)p->rank, p->id);
}

/* Runs the message stream (when mine is not NULL) into *r. */
static int busq_messages(struct db *d, struct arena *a, const struct principal *p,
                         const struct busq_in *in, const char *mine, const struct busq_pos *pos,
                         PGresult **r, struct err *e)
{
    const char *con = in->con_archivos < 0 ? NULL : in->con_archivos ? "true" : "false";
    const char *params[12] = {
        mine, in->q, in->autor_id ? db_ll(a, in->autor_id) : NULL, in->desde, in->hasta,
        in->tipo, con, db_ll(a, p->id), busq_pos_rank(a, pos), busq_pos_id(a, pos),
        db_ll(a, in->limite + 1), db_ll(a, BUSQ_CANDIDATES),
    };
    *r = db_exec(d, a, in->por_fecha ? busq_sql_msg_date : busq_sql_msg_rank,
                 in->por_fecha ? 11 : 12, params, e);
    return *r ? 0 : -1;
}

static int busq_announcements(struct db *d, struct arena *a, const struct principal *p,
                              const struct busq_in *in, const struct busq_pos *pos,
                              PGresult **r, struct err *e)
{
    const char *con = in->con_archivos < 0 ? NULL : in->con_archivos ? "true" : "false";
    const char *params[10] = {
        db_ll(a, p->id), in->q, in->autor_id ? db_ll(a, in->autor_id) : NULL, in->desde,
        in->hasta, con, busq_pos_rank(a, pos), busq_pos_id(a, pos), db_ll(a, in->limite + 1),
        db_ll(a, BUSQ_CANDIDATES),
    };
    *r = db_exec(d, a, in->por_fecha ? busq_sql_com_date : busq_sql_com_rank,
                 in->por_fecha ? 9 : 10, params, e);
    return *r ? 0 : -1;
}

/* The hits of a stream result. */
static size_t busq_hits(const PGresult *r, bool com, struct busq_hit *out)
{
    int n = r ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        out[i].com = com;
        out[i].id = db_get_ll(r, i, 0);
        out[i].rank = strtof(db_get(r, i, 1), NULL);
        out[i].us = db_get_ll(r, i, 2);
        out[i].row = i;
    }
    return (size_t)n;
}

/* Finds the object with "id" == id in arr (msg_load / com_load_many keep
 * the order given but leave out vanished ids). */
static json_object *busq_find(json_object *arr, long long id)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i), *v;
        if (json_object_object_get_ex(o, "id", &v) && json_object_get_int64(v) == id)
            return o;
    }
    return NULL;
}

int busq_search(struct db *d, struct arena *a, const struct principal *p,
                const struct busq_in *in, json_object **out, struct err *e)
{
    if (busq_check(in, e) < 0)
        return -1;
    struct busq_pos pm = { 0, 0, 0 }, pc = { 0, 0, 0 };
    if (in->cursor)
        busq_cursor_parse(in->cursor, in->por_fecha, &pm, &pc);
    bool want_msg = !in->tipo || strcmp(in->tipo, "comunicado") != 0;
    bool want_com = in->chat_id == 0 && (!in->tipo || strcmp(in->tipo, "comunicado") == 0);
    if (pm.state == 2)
        want_msg = false;
    if (pc.state == 2)
        want_com = false;

    const char *mine = NULL;
    if (in->chat_id) {
        struct chat_access acc;
        if (chat_access_get(d, a, p, in->chat_id, 0, false, &acc, e) < 0)
            return -1;
        mine = arena_printf(a, "{%lld}", in->chat_id);
    } else if (want_msg) {
        const char *params[1] = { db_ll(a, p->id) };
        PGresult *r = db_exec(d, a, busq_sql_chats, 1, params, e);
        if (!r)
            return -1;
        mine = db_get(r, 0, 0);
    }
    const char *eparams[2] = { "0", in->q };
    PGresult *er = db_exec(d, a, busq_sql_empty, 2, eparams, e);
    if (!er)
        return -1;
    if (db_get_bool(er, 0, 0))
        want_msg = want_com = false;

    PGresult *rm = NULL, *rc = NULL;
    if (want_msg && busq_messages(d, a, p, in, mine, &pm, &rm, e) < 0)
        return -1;
    if (want_com && busq_announcements(d, a, p, in, &pc, &rc, e) < 0)
        return -1;

    size_t nm = rm ? (size_t)PQntuples(rm) : 0, nc = rc ? (size_t)PQntuples(rc) : 0;
    struct busq_hit *hm = arena_alloc(a, sizeof(*hm) * (nm + 1));
    struct busq_hit *hc = arena_alloc(a, sizeof(*hc) * (nc + 1));
    busq_hits(rm, false, hm);
    busq_hits(rc, true, hc);

    /* merge the two sorted streams */
    size_t lim = (size_t)in->limite, im = 0, ic = 0, k = 0;
    struct busq_hit *page = arena_alloc(a, sizeof(*page) * (lim + 1));
    while (k < lim && (im < nm || ic < nc)) {
        if (ic >= nc || (im < nm && busq_before(&hm[im], &hc[ic], in->por_fecha)))
            page[k++] = hm[im++];
        else
            page[k++] = hc[ic++];
    }
    bool more = im < nm || ic < nc;
    /* new positions: after the last emitted hit of each stream; a stream
     * that returned everything it had and was fully emitted is exhausted */
    struct busq_pos npm = pm, npc = pc;
    if (im > 0)
        npm = (struct busq_pos){ 1, hm[im - 1].rank, hm[im - 1].id };
    if (im == nm && nm <= lim)
        npm.state = 2;
    if (ic > 0)
        npc = (struct busq_pos){ 1, hc[ic - 1].rank, hc[ic - 1].id };
    if (ic == nc && nc <= lim)
        npc.state = 2;

    long long *mids = arena_alloc(a, sizeof(long long) * (k + 1));
    long long *cids = arena_alloc(a, sizeof(long long) * (k + 1));
    size_t km = 0, kc = 0;
    for (size_t i = 0; i < k; i++) {
        if (page[i].com)
            cids[kc++] = page[i].id;
        else
            mids[km++] = page[i].id;
    }
    json_object *msgs, *coms = NULL;
    if (msg_load(d, a, p->id, mids, km, &msgs, e) < 0)
        return -1;
    if (kc > 0 && com_load_many(d, a, p->id, cids, kc, &coms, e) < 0)
        return -1;

    json_object *o = jsonx_own(a, json_object_new_object());
    json_object *res = json_object_new_array();
    json_object_object_add(o, "resultados", res);
    for (size_t i = 0; i < k; i++) {
        const struct busq_hit *h = &page[i];
        json_object *obj = busq_find(h->com ? coms : msgs, h->id);
        if (!obj)
            continue;   /* deleted between the two queries */
        json_object *hit = json_object_new_object();
        const char *hl;
        if (h->com) {
            json_object_object_add(hit, "mensaje", NULL);
            json_object_object_add(hit, "chat", NULL);
            jsonx_add(hit, "comunicado", obj);
            hl = db_get(rc, h->row, 3);
        } else {
            jsonx_add(hit, "mensaje", obj);
            json_object *chat = json_object_new_object();
            json_object_object_add(chat, "id", jsonx_id(db_get(rm, h->row, 3)));
            json_object_object_add(chat, "tipo", jsonx_str(db_get(rm, h->row, 4)));
            json_object_object_add(chat, "nombre", jsonx_str(db_get(rm, h->row, 5)));
            json_object_object_add(hit, "chat", chat);
            json_object_object_add(hit, "comunicado", NULL);
            hl = db_get(rm, h->row, 6);
        }
        const char *extracto;
        json_object *marcas;
        busq_marks(a, hl ? hl : "", &extracto, &marcas);
        json_object_object_add(hit, "extracto", json_object_new_string(extracto));
        json_object_object_add(hit, "marcas", marcas);
        json_object_array_add(res, hit);
    }
    json_object_object_add(o, "cursor",
                           more ? json_object_new_string(arena_printf(
                                      a, "%c~%s~%s", in->por_fecha ? 'f' : 'r',
                                      busq_pos_text(a, &npm), busq_pos_text(a, &npc)))
                                : NULL);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(more));
    *out = o;
    return 0;
}

/* ---- around one message --------------------------------------------------- */

/* The message ($2, checked to be in chat $1: t) and up to $3 ids before it
 * and $4 after it. The sides are bounded by $2 itself, not by t's row: a
 * bound taken from another relation is a join filter, and the planner then
 * walked the whole primary key (1 s in a chat of a million messages). */
static const char busq_sql_around[] =
    "WITH t AS (SELECT id FROM mensajes WHERE id = $2 AND chat_id = $1),"
    " older AS (SELECT id FROM mensajes WHERE chat_id = $1 AND id < $2"
    "   ORDER BY id DESC LIMIT $3),"
    " newer AS (SELECT id FROM mensajes WHERE chat_id = $1 AND id > $2"
    "   ORDER BY id ASC LIMIT $4)"
    " SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM older), (SELECT count(*) FROM newer),"
    "  (SELECT coalesce(array_agg(id ORDER BY id DESC), '{}') FROM"
    "    (SELECT id FROM newer UNION ALL SELECT id FROM t UNION ALL SELECT id FROM older) z)::text";

int busq_around(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                long long mensaje_id, int limite, json_object **out_array, bool *mas_antes,
                bool *mas_despues, struct err *e)
{
    struct chat_access acc;
    if (chat_access_get(d, a, p, chat_id, PERM_DELETE_CHAT, false, &acc, e) < 0)
        return -1;
    /* one more on each side tells whether the page ends there */
    int before = (limite - 1) / 2, after = limite - 1 - before;
    const char *params[4] = { db_ll(a, chat_id), db_ll(a, mensaje_id), db_ll(a, before + 1),
                              db_ll(a, after + 1) };
    PGresult *r = db_exec(d, a, busq_sql_around, 4, params, e);
    if (!r)
        return -1;
    if (db_get_ll(r, 0, 0) == 0)
        return err_set(e, ERR_NOT_FOUND, "Mensaje no encontrado en este chat");
    long long nold = db_get_ll(r, 0, 1), nnew = db_get_ll(r, 0, 2);
    *mas_antes = nold > before;
    *mas_despues = nnew > after;
    /* the ids come newest first: drop the extra newest and oldest */
    const char *txt = db_get(r, 0, 3);
    size_t cap = (size_t)limite + 2, n = 0;
    long long *ids = arena_alloc(a, sizeof(long long) * cap);
    for (const char *s = txt + 1; *s && *s != '}' && n < cap;) {
        char *end;
        ids[n++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
    }
    size_t from = *mas_despues ? 1 : 0, to = *mas_antes ? n - 1 : n;
    return msg_load(d, a, p->id, ids + from, to - from, out_array, e);
}
