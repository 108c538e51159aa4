/* chat_access.c: who may see and act in a chat. */
#include "domain/chat.h"

#include <string.h>

#include "core/log.h"

static const char chat_sql_access[] =
    "SELECT c.tipo = 'directo', c.restringido, uc.usuario_id IS NOT NULL,"
    "  COALESCE(uc.rol = 'admin', false), COALESCE(uc.silenciado, false)"
    " FROM chats c LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2"
    " WHERE c.id = $1 AND c.deleted_at IS NULL";
static const struct db_stmt chat_st_access = { "chat_access", chat_sql_access };

static const char chat_sql_access_lock[] =
    "SELECT c.tipo = 'directo', c.restringido, uc.usuario_id IS NOT NULL,"
    "  COALESCE(uc.rol = 'admin', false), COALESCE(uc.silenciado, false)"
    " FROM chats c LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2"
    " WHERE c.id = $1 AND c.deleted_at IS NULL FOR SHARE OF c";
static const struct db_stmt chat_st_access_lock = { "chat_access_lock", chat_sql_access_lock };

/* Reads a row of chat_sql_access into out; false when there is none. */
static bool chat_access_row(const PGresult *r, long long chat_id, struct chat_access *out)
{
    if (PQntuples(r) == 0)
        return false;
    out->chat_id = chat_id;
    out->directo = db_get_bool(r, 0, 0);
    out->restringido = db_get_bool(r, 0, 1);
    out->member = db_get_bool(r, 0, 2);
    out->admin = db_get_bool(r, 0, 3);
    out->silenciado = db_get_bool(r, 0, 4);
    return true;
}

static int chat_access_verdict(bool found, const struct principal *p, int override_perm,
                               const struct chat_access *acc, struct err *e)
{
    if (!found)
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    if (!acc->member && !(override_perm && usr_can(p, override_perm)))
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    return 0;
}

int chat_access_get(struct db *d, struct arena *a, const struct principal *p,
                    long long chat_id, int override_perm, bool lock,
                    struct chat_access *out, struct err *e)
{
    const char *params[2] = { db_ll(a, chat_id), db_ll(a, p->id) };
    PGresult *r = db_run(d, a, lock ? &chat_st_access_lock : &chat_st_access, 2, params, e);
    if (!r)
        return -1;
    return chat_access_verdict(chat_access_row(r, chat_id, out), p, override_perm, out, e);
}

static void chat_access_ran(struct db *d, const PGresult *r, void *ctx)
{
    (void)d;
    struct chat_access_ahead *ah = ctx;
    ah->ran = true;
    ah->found = chat_access_row(r, ah->acc.chat_id, &ah->acc);
}

int chat_access_defer(struct db *d, struct arena *a, const struct principal *p,
                      long long chat_id, struct chat_access_ahead *ah, struct err *e)
{
    memset(ah, 0, sizeof(*ah));
    ah->acc.chat_id = chat_id;
    const char *params[2] = { db_ll(a, chat_id), db_ll(a, p->id) };
    return db_defer(d, a, &chat_st_access, 2, params, chat_access_ran, ah, e);
}

int chat_access_done(const struct chat_access_ahead *ah, const struct principal *p,
                     int override_perm, struct chat_access *out, struct err *e)
{
    if (!ah->ran) {
        log_error("event=chat_access_not_run chat=%lld", ah->acc.chat_id);
        return err_set(e, ERR_INTERNAL, NULL);
    }
    *out = ah->acc;
    return chat_access_verdict(ah->found, p, override_perm, out, e);
}
