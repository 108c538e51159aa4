/* evt.c: the event vocabulary table and the outbox writer. */
#include "domain/evt.h"

#include <stdio.h>
#include <string.h>

#include "core/jsonx.h"

static const char evt_sql_insert[] =
    "INSERT INTO eventos (tipo, sala, payload, chat_id, usuario_id)"
    " VALUES ($1, $2, $3::jsonb, NULLIF($4, '0')::bigint, NULLIF($5, '0')::bigint)"
    " RETURNING id";
static const struct db_stmt evt_st_insert = { "evt_insert", evt_sql_insert };

/* After the insert: the wake-up {"id":N,"tipo":...,"sala":...} is queued
 * for after the commit. */
struct evt_note {
    const char *tipo;
    const char *sala;
};

static void evt_inserted(struct db *d, const PGresult *r, void *ctx)
{
    const struct evt_note *n = ctx;
    if (!r || PQntuples(r) != 1)
        return;
    json_object *note = json_object_new_object();
    json_object_object_add(note, "id", json_object_new_int64(db_get_ll(r, 0, 0)));
    json_object_object_add(note, "tipo", json_object_new_string(n->tipo));
    json_object_object_add(note, "sala", json_object_new_string(n->sala));
    db_notify_after_commit(d, json_object_to_json_string_ext(note, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(note);
}

int evt_add(struct db *d, struct arena *a, const char *tipo, const char *sala,
            json_object *payload, long long chat_id, long long usuario_id, struct err *e)
{
    struct evt_note *n = arena_alloc(a, sizeof(*n));
    n->tipo = arena_strdup(a, tipo);
    n->sala = arena_strdup(a, sala);
    const char *params[5] = { n->tipo, n->sala, jsonx_text(a, payload), db_ll(a, chat_id),
                              db_ll(a, usuario_id) };
    return db_defer(d, a, &evt_st_insert, 5, params, evt_inserted, n, e);
}

#define EVT_ROW_(id_, name_, rooms_, path_, flags_, who_) \
    { .id = id_, .name = name_, .rooms = rooms_, .path = path_, .flags = flags_, .who = who_ },
static const struct evt_kind evt_table[EVT__COUNT] = { EVT_LIST(EVT_ROW_) };
#undef EVT_ROW_

const struct evt_kind *evt_kind(enum evt_id id)
{
    return &evt_table[id];
}

const struct evt_kind *evt_find(const char *name)
{
    for (int i = 0; name && i < EVT__COUNT; i++)
        if (strcmp(evt_table[i].name, name) == 0)
            return &evt_table[i];
    return NULL;
}

int evt_emit(struct db *d, struct arena *a, enum evt_id id, enum evt_room room,
             long long room_id, json_object *payload, long long chat_id, long long usuario_id,
             struct err *e)
{
    const struct evt_kind *k = evt_kind(id);
    const char *sala;
    switch (room) {
    case EVT_ROOM_CHAT: sala = arena_printf(a, "chat:%lld", room_id); break;
    case EVT_ROOM_USER: sala = arena_printf(a, "user:%lld", room_id); break;
    case EVT_ROOM_PRESENCE: sala = arena_printf(a, "presencia:%lld", room_id); break;
    case EVT_ROOM_ALL: sala = "todos"; break;
    default: sala = NULL; break;
    }
    if (!sala || !(k->rooms & (unsigned)room) || k->path != EVT_STORED)
        return err_set(e, ERR_INTERNAL, "evento %s: sala %d no prevista", k->name, (int)room);
    return evt_add(d, a, k->name, sala, payload, chat_id, usuario_id, e);
}

/* ---- rtd's feed ----------------------------------------------------------- */

/* The batch is written into the statement's text, not passed as a
 * parameter: the plan PostgreSQL caches for a prepared statement does not
 * know a $n limit, and once eventos holds some tens of thousands of rows
 * that generic plan sorts a third of the table (the default estimate for
 * the row comparison) behind a Gather Merge, launching a parallel worker
 * on every read: 22-41 ms a read where the ordered index scan takes
 * 0.06 ms. With the constant the cached plan is the index scan;
 * test_sync's feed_plans checks it with a table of 60,000 rows. */
#define EVT_STR_(x) #x
#define EVT_STR(x) EVT_STR_(x)

/* The columns of a row to deliver; for a presencia:<id> room also the
 * chats of that user (who should hear about them), resolved in the same
 * statement. */
#define EVT_FEED_COLS                                                       \
    "SELECT e.id, e.xid::text, e.tipo, e.sala, e.payload::text,"            \
    "  CASE WHEN e.sala LIKE 'presencia:%' THEN"                            \
    "    (SELECT coalesce(array_agg(uc.chat_id), '{}') FROM usuarios_chat uc" \
    "      WHERE uc.usuario_id = substr(e.sala, 11)::bigint)::text END,"     \
    "  (extract(epoch FROM e.created_at) * 1000000)::bigint"

/* The rows after the cursor, below the horizon: complete and final. */
const struct db_stmt evt_st_feed_read = {
    "feed_read",
    EVT_FEED_COLS " FROM eventos_despues($1::bigint, $2::bigint, " EVT_STR(EVT_FEED_BATCH) ") e"
                  " ORDER BY e.xid, e.id"
};

/* Rows a NOTIFY announced that the cursor read could not hand out yet
 * (an older transaction somewhere in the cluster is still open, so they
 * are above the horizon). They are committed (the NOTIFY follows the
 * commit), so they go out now and are remembered, and the cursor read
 * skips them when it reaches them: instant delivery without giving up the
 * commit-safe cursor (sql/002_eventos.sql). */
const struct db_stmt evt_st_feed_ahead = {
    "feed_ahead",
    EVT_FEED_COLS " FROM eventos e WHERE e.id = ANY($1::bigint[])"
    "  AND (e.xid, e.id) > ($2::text::xid8, $3::bigint) ORDER BY e.xid, e.id"
};
