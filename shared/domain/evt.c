/* evt.c: the outbox writer. */
#include "domain/evt.h"

#include <stdio.h>

#include "core/jsonx.h"

static const char evt_sql_insert[] =
    "INSERT INTO eventos (tipo, sala, payload, chat_id, usuario_id)"
    " VALUES ($1, $2, $3::jsonb, NULLIF($4, '0')::bigint, NULLIF($5, '0')::bigint)"
    " RETURNING id";

long long evt_add(struct db *d, struct arena *a, const char *tipo, const char *sala,
                  json_object *payload, long long chat_id, long long usuario_id,
                  struct err *e)
{
    const char *params[5] = { tipo, sala, jsonx_text(a, payload), db_ll(a, chat_id),
                              db_ll(a, usuario_id) };
    PGresult *r = db_exec(d, a, evt_sql_insert, 5, params, e);
    if (!r)
        return -1;
    long long id = db_get_ll(r, 0, 0);
    json_object *note = json_object_new_object();
    json_object_object_add(note, "id", json_object_new_int64(id));
    json_object_object_add(note, "tipo", json_object_new_string(tipo));
    json_object_object_add(note, "sala", json_object_new_string(sala));
    db_notify_after_commit(d, json_object_to_json_string_ext(note, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(note);
    return id;
}
