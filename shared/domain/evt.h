/* evt.h: the event outbox: an eventos row written in the caller's
 * transaction, and its NOTIFY chat_eventos wake-up after the commit. */
#ifndef CHAT_EVT_H
#define CHAT_EVT_H

#include <json-c/json.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"

/* Writes one event: tipo (an API.md §5 event name), sala ("chat:12",
 * "user:5"), payload (borrowed; serialised now), and the chat and user it
 * concerns (0 for none). Must run inside a transaction. The insert is
 * deferred (db_defer): it goes to the server with the transaction's next
 * statement or its COMMIT, in the same round trip; a failure of it fails
 * that call. Once inserted, the NOTIFY {"id":N,"tipo":"...","sala":"..."}
 * is queued for after the commit. Returns 0, or -1 with e. */
int evt_add(struct db *d, struct arena *a, const char *tipo, const char *sala,
            json_object *payload, long long chat_id, long long usuario_id, struct err *e);

#endif
