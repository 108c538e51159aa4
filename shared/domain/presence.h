/* presence.h: presence in the database (API.md §5 "Presence"), for the
 * realtime daemon: each instance writes its per-user socket counts to
 * presencia_conexiones (UNLOGGED: soft state) and the aggregate over live
 * instances becomes usuarios.estatus, announced as usuario:estatus to
 * presencia:<id>. Instances are rows of rtd_instancias kept alive by a
 * heartbeat; one silent for 30 s is dead and its rows go by cascade. */
#ifndef CHAT_PRESENCE_H
#define CHAT_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"

/* One user's counts on this instance. sockets < 0: leave this instance's
 * row alone, only recompute the aggregate (the heartbeat's sweep). */
struct presence_count {
    long long usuario_id;
    int sockets, inactivos;
};

/* Who this instance is (rtd_instancias). */
struct presence_instance {
    const char *id;             /* host:port:pid */
    const char *host;
    int pid;
};

/* Writes the counts of n users and recomputes each one's status, all in
 * one transaction with synchronous_commit off (presence is soft state: a
 * crash loses at most the last moments of it, and the heartbeat rewrites
 * it). The users' rows are locked first, in id order, so instances
 * computing the same users take turns (the last sees every committed
 * count) and never deadlock. A status that changes is stored with
 * ultima_conexion = now() and, unless the user is on vacation (which
 * overrides), emitted as usuario:estatus; a deactivated user is
 * desconectado. *changed (may be NULL) gets how many changed. Returns 0
 * or -1 with e (nothing written). */
int presence_apply(struct db *d, struct arena *a, const struct presence_instance *in,
                   const struct presence_count *v, size_t n, int *changed, struct err *e);

/* The heartbeat: upserts this instance (*lost: its row was gone, e.g.
 * UNLOGGED tables after a crash, so the caller rewrites its users),
 * deletes instances silent for 30 s, recomputes up to 1000 users shown
 * connected that no live instance holds once their ultima_conexion is
 * older than grace_seconds, and ends vacations whose date passed. */
int presence_heartbeat(struct db *d, struct arena *a, const struct presence_instance *in,
                       int grace_seconds, bool *lost, struct err *e);

/* At shutdown: stamps ultima_conexion = now() on this instance's users and
 * deletes its row (its counts go by cascade), so the survivors (or the
 * next start) apply the grace period before desconectado. */
int presence_leave(struct db *d, struct arena *a, const struct presence_instance *in,
                   struct err *e);

#endif
