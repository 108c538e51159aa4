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
