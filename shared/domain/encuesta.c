/* encuesta.c: polls: creation, set-semantics votes under a row lock,
 * closing, and the Encuesta object. */
#include "domain/encuesta.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "domain/chat.h"
#include "domain/evt.h"
#include "core/jsonx.h"
#include "domain/msg.h"

/* ---- the Encuesta object ---------------------------------------------- */

static const char enc_sql_polls[] =
    "SELECT e.mensaje_id, e.id, e.pregunta, e.multiple, e.anonima, e.cierra_at,"
    "  e.cerrada_at IS NOT NULL OR (e.cierra_at IS NOT NULL AND e.cierra_at <= now()),"
    "  (SELECT count(DISTINCT v.usuario_id) FROM encuestas_votos v WHERE v.encuesta_id = e.id),"
    "  (SELECT COALESCE(json_agg(v.opcion_id ORDER BY v.opcion_id), '[]')::text"
    "     FROM encuestas_votos v WHERE v.encuesta_id = e.id AND v.usuario_id = $2)"
    " FROM encuestas e JOIN mensajes m ON m.id = e.mensaje_id AND m.deleted_at IS NULL"
    " WHERE e.mensaje_id = ANY ($1::bigint[])";
static const struct db_stmt enc_st_polls = { "enc_polls", enc_sql_polls };

enum { EP_MSG, EP_ID, EP_PREGUNTA, EP_MULTIPLE, EP_ANONIMA, EP_CIERRA, EP_CERRADA, EP_VOTANTES,
       EP_MIS };

/* Voter ids are aggregated only for polls that are not anonymous: for an
 * anonymous one they never leave the database. */
static const char enc_sql_options[] =
    "SELECT e.mensaje_id, o.id, o.texto, count(v.usuario_id),"
    "  CASE WHEN e.anonima THEN NULL ELSE"
    "    COALESCE(json_agg(v.usuario_id ORDER BY v.created_at, v.usuario_id)"
    "             FILTER (WHERE v.usuario_id IS NOT NULL), '[]')::text END"
    " FROM encuestas e JOIN mensajes m ON m.id = e.mensaje_id AND m.deleted_at IS NULL"
    " JOIN encuestas_opciones o ON o.encuesta_id = e.id"
    " LEFT JOIN encuestas_votos v ON v.opcion_id = o.id"
    " WHERE e.mensaje_id = ANY ($1::bigint[])"
    " GROUP BY e.mensaje_id, e.anonima, o.id, o.texto, o.posicion"
    " ORDER BY e.mensaje_id, o.posicion";
static const struct db_stmt enc_st_options = { "enc_options", enc_sql_options };

static json_object *enc_poll_json(const PGresult *r, int i, bool with_mine)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, i, EP_ID)));
    json_object_object_add(o, "pregunta", jsonx_str(db_get(r, i, EP_PREGUNTA)));
    json_object_object_add(o, "multiple", json_object_new_boolean(db_get_bool(r, i, EP_MULTIPLE)));
    json_object_object_add(o, "anonima", json_object_new_boolean(db_get_bool(r, i, EP_ANONIMA)));
    json_object_object_add(o, "cierra_at", jsonx_ts(db_get(r, i, EP_CIERRA)));
    json_object_object_add(o, "cerrada", json_object_new_boolean(db_get_bool(r, i, EP_CERRADA)));
    json_object_object_add(o, "opciones", json_object_new_array());
    if (with_mine) {
        json_object *mine = json_tokener_parse(db_get(r, i, EP_MIS));
        json_object_object_add(o, "mis_votos", mine ? mine : json_object_new_array());
    }
    json_object_object_add(o, "total_votantes", jsonx_id(db_get(r, i, EP_VOTANTES)));
    return o;
}

static json_object *enc_option_json(const PGresult *r, int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", jsonx_id(db_get(r, i, 1)));
    json_object_object_add(o, "texto", jsonx_str(db_get(r, i, 2)));
    json_object_object_add(o, "votos", jsonx_id(db_get(r, i, 3)));
    const char *who = db_get(r, i, 4);
    if (who) {
        json_object *ids = json_tokener_parse(who);
        json_object_object_add(o, "votantes", ids ? ids : json_object_new_array());
    }
    return o;
}

int enc_load(struct db *d, struct arena *a, long long viewer, const long long *mensaje_ids,
             size_t n, json_object **by_index, struct err *e)
{
    for (size_t k = 0; k < n; k++)
        by_index[k] = NULL;
    if (n == 0)
        return 0;
    const char *params[2] = { db_ll_array(a, mensaje_ids, n), db_ll(a, viewer) };
    PGresult *r = db_run(d, a, &enc_st_polls, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return 0;
    PGresult *ro = db_run(d, a, &enc_st_options, 1, params, e);
    if (!ro)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        long long mid = db_get_ll(r, i, EP_MSG);
        json_object *poll = jsonx_own(a, enc_poll_json(r, i, viewer != 0)), *opts;
        json_object_object_get_ex(poll, "opciones", &opts);
        for (int j = 0; j < PQntuples(ro); j++)
            if (db_get_ll(ro, j, 0) == mid)
                json_object_array_add(opts, enc_option_json(ro, j));
        /* every slot naming this message (ids may repeat) shares the
         * borrowed object; each nesting takes its own reference */
        for (size_t k = 0; k < n; k++)
            if (mensaje_ids[k] == mid)
                by_index[k] = poll;
    }
    return 0;
}

int enc_mensaje(struct db *d, struct arena *a, long long viewer, long long mensaje_id,
                json_object **out, struct err *e)
{
    /* msg_load fills "encuesta" through enc_load */
    return msg_load_one(d, a, viewer, mensaje_id, out, e);
}

/* ---- input checks ------------------------------------------------------ */

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]";
 * -1 when malformed. */
static long long enc_parse_ts(const char *s)
{
    int Y, M, D, h, m, sec, used = 0;
    if (!s || strlen(s) > 40 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6 ||
        used != 19)
        return -1;
    const char *p = s + used;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
            sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh > 14 || om > 59)
            return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;      /* a timestamp without zone is ambiguous */
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                     .tm_hour = h, .tm_min = m, .tm_sec = sec };
    time_t t = timegm(&tm);
    if (tm.tm_mday != D)    /* normalised: 31 April and the like */
        return -1;
    return (long long)t - off;
}

/* s without surrounding ASCII whitespace: start and length. */
static const char *enc_trim(const char *s, size_t *len)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

int enc_new_check(const struct enc_new *in, long long now, struct err *e)
{
    if (!in->pregunta)
        return err_set(e, ERR_INVALID, "pregunta es obligatoria");
    if (msg_text_check(in->pregunta, "pregunta", ENC_PREGUNTA_MAX, e) < 0)
        return -1;
    if (in->nopciones < ENC_MIN_OPCIONES || in->nopciones > ENC_MAX_OPCIONES)
        return err_set(e, ERR_INVALID, "opciones debe tener de %d a %d textos", ENC_MIN_OPCIONES,
                       ENC_MAX_OPCIONES);
    for (size_t i = 0; i < in->nopciones; i++) {
        if (msg_text_check(in->opciones[i], "Cada opción", ENC_OPCION_MAX, e) < 0)
            return -1;
        size_t li, lj;
        const char *ti = enc_trim(in->opciones[i], &li);
        for (size_t j = 0; j < i; j++) {
            const char *tj = enc_trim(in->opciones[j], &lj);
            if (li == lj && strncasecmp(ti, tj, li) == 0)
                return err_set(e, ERR_INVALID, "Las opciones no pueden repetirse");
        }
    }
    if (in->cierra_at) {
        long long t = enc_parse_ts(in->cierra_at);
        if (t < 0)
            return err_set(e, ERR_INVALID, "cierra_at debe ser una fecha ISO-8601 con zona "
                                           "(2026-11-20T15:04:05Z)");
        if (t <= now)
            return err_set(e, ERR_INVALID, "cierra_at debe estar en el futuro");
    }
    return msg_client_id_check(in->client_id, e);
}

/* ---- create ------------------------------------------------------------ */

/* The future check is repeated against the database's clock. */
static const char enc_sql_insert_poll[] =
    "INSERT INTO encuestas (mensaje_id, pregunta, multiple, anonima, cierra_at)"
    " SELECT $1, $2, $3, $4, $5::timestamptz WHERE $5::timestamptz IS NULL OR $5::timestamptz > now()"
    " RETURNING id";
static const struct db_stmt enc_st_insert_poll = { "enc_insert_poll", enc_sql_insert_poll };

static const char enc_sql_insert_options[] =
    "INSERT INTO encuestas_opciones (encuesta_id, posicion, texto)"
    " SELECT $1, x.ord - 1, x.t FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY x(t, ord)";
static const struct db_stmt enc_st_insert_options = { "enc_insert_options", enc_sql_insert_options };

/* Inside the transaction, after the message row: the poll and its options. */
static int enc_insert(struct db *d, struct arena *a, const struct enc_new *in,
                      long long mensaje_id, struct err *e)
{
    const char *pp[5] = { db_ll(a, mensaje_id), in->pregunta, in->multiple ? "true" : "false",
                          in->anonima ? "true" : "false", in->cierra_at };
    PGresult *r = db_run(d, a, &enc_st_insert_poll, 5, pp, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_INVALID, "cierra_at debe estar en el futuro");
    json_object *texts = jsonx_own(a, json_object_new_array());
    for (size_t i = 0; i < in->nopciones; i++)
        json_object_array_add(texts, json_object_new_string(in->opciones[i]));
    const char *op[2] = { db_get(r, 0, 0), jsonx_text(a, texts) };
    return db_run(d, a, &enc_st_insert_options, 2, op, e) ? 0 : -1;
}

int enc_create(struct db *d, struct arena *a, const struct principal *p,
               const struct enc_new *in, bool *created, json_object **out, struct err *e)
{
    int ret = -1;
    long long mid;
    *created = false;
    /* the message row goes through the one message write path (access,
     * restringido, client_id); the question is its contenido */
    struct msg_send_in mi = { .chat_id = in->chat_id, .tipo = "encuesta",
                              .contenido = in->pregunta, .client_id = in->client_id };
    if (db_begin(d, e) < 0)
        return -1;
    int r = msg_insert(d, a, p, &mi, &mid, NULL, e);
    if (r < 0)
        goto cleanup;
    if (r == 1) {
        /* the push body shows the question: announce after the encuestas row */
        json_object *m;
        if (enc_insert(d, a, in, mid, e) < 0 || enc_mensaje(d, a, 0, mid, &m, e) < 0 ||
            msg_announce(d, a, in->chat_id, p->id, mid, m, e) < 0 || db_commit(d, e) < 0)
            goto cleanup;
        *created = true;
    } else {
        db_rollback(d);     /* a retry: nothing was written */
    }
    ret = enc_mensaje(d, a, p->id, mid, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

/* ---- vote and close ----------------------------------------------------- */

/* The poll, locked for the rest of the transaction: votes and closing of
 * one poll run one at a time. */
static const char enc_sql_lock[] =
    "SELECT e.mensaje_id, m.chat_id, m.autor_id, e.multiple, e.anonima,"
    "  e.cerrada_at IS NOT NULL OR (e.cierra_at IS NOT NULL AND e.cierra_at <= now()),"
    "  m.deleted_at IS NOT NULL"
    " FROM encuestas e JOIN mensajes m ON m.id = e.mensaje_id"
    " WHERE e.id = $1 FOR NO KEY UPDATE OF e";
static const struct db_stmt enc_st_lock = { "enc_lock", enc_sql_lock };

struct enc_poll {
    long long id, mensaje_id, chat_id, autor_id;
    bool multiple, anonima, closed, deleted;
    struct chat_access acc;
};

/* Locks poll id and checks p is a member of its chat (ERR_NOT_FOUND). */
static int enc_lock(struct db *d, struct arena *a, const struct principal *p, long long id,
                    struct enc_poll *out, struct err *e)
{
    const char *params[1] = { db_ll(a, id) };
    PGresult *r = db_run(d, a, &enc_st_lock, 1, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Encuesta no encontrada");
    out->id = id;
    out->mensaje_id = db_get_ll(r, 0, 0);
    out->chat_id = db_get_ll(r, 0, 1);
    out->autor_id = db_get(r, 0, 2) ? db_get_ll(r, 0, 2) : 0;
    out->multiple = db_get_bool(r, 0, 3);
    out->anonima = db_get_bool(r, 0, 4);
    out->closed = db_get_bool(r, 0, 5);
    out->deleted = db_get_bool(r, 0, 6);
    return chat_access_get(d, a, p, out->chat_id, 0, false, &out->acc, e);
}

/* encuesta:voto to the chat: the Encuesta without mis_votos. An anonymous
 * poll's event names no user, not even in the eventos row. */
static int enc_event(struct db *d, struct arena *a, const struct enc_poll *poll, long long actor,
                     struct err *e)
{
    json_object *enc;
    if (enc_load(d, a, 0, &poll->mensaje_id, 1, &enc, e) < 0)
        return -1;
    json_object *ev = jsonx_own(a, json_object_new_object());
    json_object_object_add(ev, "chat_id", json_object_new_int64(poll->chat_id));
    json_object_object_add(ev, "mensaje_id", json_object_new_int64(poll->mensaje_id));
    jsonx_add(ev, "encuesta", enc);
    return evt_emit(d, a, EVT_ENCUESTA_VOTO, EVT_ROOM_CHAT, poll->chat_id, ev, poll->chat_id,
                    poll->anonima ? 0 : actor, e) < 0 ? -1 : 0;
}

static const char enc_sql_foreign[] =
    "SELECT count(*) FROM unnest($2::bigint[]) x(id)"
    " WHERE NOT EXISTS (SELECT 1 FROM encuestas_opciones o WHERE o.encuesta_id = $1 AND o.id = x.id)";
static const struct db_stmt enc_st_foreign = { "enc_foreign", enc_sql_foreign };

static const char enc_sql_unvote[] =
    "DELETE FROM encuestas_votos"
    " WHERE encuesta_id = $1 AND usuario_id = $2 AND opcion_id <> ALL ($3::bigint[])";
static const struct db_stmt enc_st_unvote = { "enc_unvote", enc_sql_unvote };

static const char enc_sql_vote[] =
    "INSERT INTO encuestas_votos (encuesta_id, opcion_id, usuario_id)"
    " SELECT $1, x.id, $2 FROM unnest($3::bigint[]) x(id) ON CONFLICT DO NOTHING";
static const struct db_stmt enc_st_vote = { "enc_vote", enc_sql_vote };

/* The distinct ids of the selection, in the arena. */
static size_t enc_distinct(struct arena *a, const long long *ids, size_t n, long long **out)
{
    long long *v = arena_alloc(a, sizeof(long long) * (n + 1));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && v[j] != ids[i])
            j++;
        if (j == k)
            v[k++] = ids[i];
    }
    *out = v;
    return k;
}

int enc_vote(struct db *d, struct arena *a, const struct principal *p, long long encuesta_id,
             const long long *opcion_ids, size_t n, json_object **out, struct err *e)
{
    int ret = -1;
    struct enc_poll poll;
    long long *sel;
    size_t k = enc_distinct(a, opcion_ids, n, &sel);
    if (db_begin(d, e) < 0)
        return -1;
    if (enc_lock(d, a, p, encuesta_id, &poll, e) < 0)
        goto cleanup;
    if (poll.deleted || poll.closed) {
        err_set(e, ERR_CONFLICT, poll.deleted ? "La encuesta fue eliminada"
                                              : "La encuesta está cerrada");
        goto cleanup;
    }
    if (!poll.multiple && k > 1) {
        err_set(e, ERR_INVALID, "Esta encuesta admite una sola opción");
        goto cleanup;
    }
    const char *params[3] = { db_ll(a, encuesta_id), db_ll(a, p->id), db_ll_array(a, sel, k) };
    PGresult *r = db_run(d, a, &enc_st_foreign, 2, (const char *const[]){ params[0], params[2] }, e);
    if (!r)
        goto cleanup;
    if (db_get_ll(r, 0, 0) > 0) {
        err_set(e, ERR_INVALID, "opciones contiene opciones que no son de esta encuesta");
        goto cleanup;
    }
    PGresult *del = db_run(d, a, &enc_st_unvote, 3, params, e);
    PGresult *ins = del ? db_run(d, a, &enc_st_vote, 3, params, e) : NULL;
    if (!ins)
        goto cleanup;
    bool changed = strcmp(PQcmdTuples(del), "0") != 0 || strcmp(PQcmdTuples(ins), "0") != 0;
    if (changed && enc_event(d, a, &poll, p->id, e) < 0)
        goto cleanup;
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = enc_mensaje(d, a, p->id, poll.mensaje_id, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}

static const char enc_sql_close[] =
    "UPDATE encuestas SET cerrada_at = now(), cerrada_por = $2 WHERE id = $1 AND cerrada_at IS NULL";
static const struct db_stmt enc_st_close = { "enc_close", enc_sql_close };

int enc_close(struct db *d, struct arena *a, const struct principal *p, long long encuesta_id,
              json_object **out, struct err *e)
{
    int ret = -1;
    struct enc_poll poll;
    if (db_begin(d, e) < 0)
        return -1;
    if (enc_lock(d, a, p, encuesta_id, &poll, e) < 0)
        goto cleanup;
    if (poll.autor_id != p->id && !poll.acc.admin) {
        err_set(e, ERR_FORBIDDEN, "Solo el autor o un administrador del chat cierran la encuesta");
        goto cleanup;
    }
    if (poll.deleted) {
        err_set(e, ERR_CONFLICT, "La encuesta fue eliminada");
        goto cleanup;
    }
    if (!poll.closed) {
        const char *params[2] = { db_ll(a, encuesta_id), db_ll(a, p->id) };
        if (!db_run(d, a, &enc_st_close, 2, params, e) || enc_event(d, a, &poll, p->id, e) < 0)
            goto cleanup;
    }
    if (db_commit(d, e) < 0)
        goto cleanup;
    ret = enc_mensaje(d, a, p->id, poll.mensaje_id, out, e);
cleanup:
    if (ret < 0 && d->depth)
        db_rollback(d);
    return ret;
}
