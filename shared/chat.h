/* chat.h: chats and their members: access checks, listing, 1:1 and group
 * lifecycle, membership changes (API.md §4.2). */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "arena.h"
#include "db.h"
#include "err.h"
#include "usr.h"

/* What the caller may do in one chat. */
struct chat_access {
    long long chat_id;
    bool directo;           /* tipo directo (else grupo) */
    bool restringido;       /* only admins post */
    bool member;            /* the caller is a current member */
    bool admin;             /* the caller's rol is admin */
    bool silenciado;        /* the caller muted it */
};

/* Loads the caller's access to chat_id. A chat that does not exist, is
 * deleted, or of which p is not a member is ERR_NOT_FOUND, unless
 * override_perm (565 or 566, 0 for none) is held by p: then a live chat is
 * found with member false. With lock, the chat row is locked FOR SHARE
 * (inside a transaction) so it cannot be deleted meanwhile. */
int chat_access_get(struct db *d, struct arena *a, const struct principal *p,
                    long long chat_id, int override_perm, bool lock,
                    struct chat_access *out, struct err *e);

#endif
