/* retention.h: legal holds and per-chat retention policy (set by the ERP's
 * service token), and the retention run of `chat-cron prune`.
 *
 * A hold (conservar) on a chat, or on a user (which covers every chat the
 * user is or was a member of, and their announcements), stops every
 * deletion touching it: the retention run skips it, media files stay, and
 * a member's own delete only hides the message (its text stays in the row
 * for the hold; see chat_retenido() in sql/009_cumplimiento.sql). */
#ifndef CHAT_RETENTION_H
#define CHAT_RETENTION_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/media.h"
#include "domain/usr.h"

/* A change to a chat's hold or policy; has_* tells what to change. Days
 * are 0 (forever) .. 36500, or -1 to go back to the config's value. */
struct retention_chat_in {
    bool has_conservar, conservar;
    const char *motivo;                 /* required when conservar is true */
    bool has_mensajes, has_media;
    int mensajes_dias, media_dias;
};

/* Applies in to chat_id (deleted chats included: their rows still exist)
 * and audits it (retencion.chat) in one transaction. *out is
 * {chat_id, conservar, motivo, mensajes_dias, media_dias} now (days null:
 * the config's). ERR_NOT_FOUND for an unknown chat, ERR_INVALID for a
 * hold without motivo. */
int retention_chat_set(struct db *d, struct arena *a, const struct principal *by,
                       long long chat_id, const struct retention_chat_in *in,
                       json_object **out, struct err *e);

/* Sets or lifts the hold on the user id_erp (audited: retencion.usuario).
 * *out is {id_erp, usuario_id, conservar, motivo}. */
int retention_user_set(struct db *d, struct arena *a, const struct principal *by,
                       const char *id_erp, bool conservar, const char *motivo,
                       json_object **out, struct err *e);

/* What the retention run uses: the config's days (0: forever). */
struct retention_policy {
    int mensajes_dias, media_dias, comunicados_dias;
    int batch;              /* rows per transaction */
};

/* Counts of one run. */
struct retention_counts {
    long long mensajes, media, comunicados, chats, eventos;
};

/* One retention run: for every chat not under hold, deletes its messages
 * older than its policy and purges the files of media older than the media
 * policy; deletes announcements older than theirs unless a hold covers
 * them. Works in short transactions of at most batch rows, each writing its
 * audit row (retencion.poda, with the counts, actor sistema). Events of a
 * chat older than its message cutoff go too and move the pruned mark, so
 * a sync cursor from before them gets 409. Returns 0 or -1 with e. */
int retention_run(struct db *d, struct arena *a, struct media_store *s,
                  const struct retention_policy *pol, struct retention_counts *out,
                  struct err *e);

#endif
