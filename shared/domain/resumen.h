/* resumen.h: the user's preferences (GET/PUT /me/preferencias) and the
 * unread e-mail digest that chat-cron digest composes and sends.
 *
 * A digest goes to an active user with an e-mail address who wants it
 * (resumen_correo), is not on vacation (unless configured), is
 * disconnected, has not had a digest within the delay, and has, in a chat
 * not muted, a message from someone else, unread and not yet in a digest,
 * older than the delay and newer than the user's last presence change
 * (so nobody who was online after it was written is mailed about it).
 * Composing lists every such chat with its unread count and latest
 * excerpts, stores the finished message in resumen_envios and moves each
 * listed chat's resumen_hasta_id, in one transaction: a message is listed
 * once, whatever happens to the sending. Sending claims rows with a lease
 * (FOR UPDATE SKIP LOCKED), so two senders never send one row twice. */
#ifndef CHAT_RESUMEN_H
#define CHAT_RESUMEN_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

/* {resumen_correo} of p. */
int resumen_prefs_get(struct db *d, struct arena *a, const struct principal *p,
                      json_object **out, struct err *e);

/* Sets p's resumen_correo; *out as resumen_prefs_get. */
int resumen_prefs_set(struct db *d, struct arena *a, const struct principal *p, bool resumen_correo,
                      json_object **out, struct err *e);

struct resumen_cfg {
    int retraso_minutos;
    bool en_vacaciones;         /* mail users on vacation too */
    const char *url_publica;    /* links: <url>/chat/?chat=<id> */
};

/* Composes the digests due now, at most max users; *n tells how many.
 * One transaction per user; a user another composer holds is skipped. */
int resumen_compose(struct db *d, struct arena *a, const struct resumen_cfg *rc, int max, int *n,
                    struct err *e);

/* One composed digest, claimed for sending. Strings in the arena. */
struct resumen_envio {
    long long id;
    const char *destinatario, *asunto, *texto, *html;
    long long created_epoch;
    int intentos;
};

/* Claims up to max digests due (pending and due, or whose lease ran out)
 * for lease_s seconds. *out is an arena array of *n. */
int resumen_claim(struct db *d, struct arena *a, int lease_s, int max,
                  struct resumen_envio **out, int *n, struct err *e);

/* The SMTP server took digest id. */
int resumen_sent(struct db *d, struct arena *a, long long id, struct err *e);

/* Sending failed: back to pending with backoff (1, 2, 4... minutes, at
 * most 60), or fallido after max_intentos. */
int resumen_failed(struct db *d, struct arena *a, long long id, const char *why, int max_intentos,
                   struct err *e);

#endif
