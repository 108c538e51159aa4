/* chat_access.c: who may see and act in a chat. */
#include "domain/chat.h"

static const char chat_sql_access[] =
    "SELECT c.tipo = 'directo', c.restringido, uc.usuario_id IS NOT NULL,"
    "  COALESCE(uc.rol = 'admin', false), COALESCE(uc.silenciado, false)"
    " FROM chats c LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2"
    " WHERE c.id = $1 AND c.deleted_at IS NULL";

static const char chat_sql_access_lock[] =
    "SELECT c.tipo = 'directo', c.restringido, uc.usuario_id IS NOT NULL,"
    "  COALESCE(uc.rol = 'admin', false), COALESCE(uc.silenciado, false)"
    " FROM chats c LEFT JOIN usuarios_chat uc ON uc.chat_id = c.id AND uc.usuario_id = $2"
    " WHERE c.id = $1 AND c.deleted_at IS NULL FOR SHARE OF c";

int chat_access_get(struct db *d, struct arena *a, const struct principal *p,
                    long long chat_id, int override_perm, bool lock,
                    struct chat_access *out, struct err *e)
{
    const char *params[2] = { db_ll(a, chat_id), db_ll(a, p->id) };
    PGresult *r = db_exec(d, a, lock ? chat_sql_access_lock : chat_sql_access, 2, params, e);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    out->chat_id = chat_id;
    out->directo = db_get_bool(r, 0, 0);
    out->restringido = db_get_bool(r, 0, 1);
    out->member = db_get_bool(r, 0, 2);
    out->admin = db_get_bool(r, 0, 3);
    out->silenciado = db_get_bool(r, 0, 4);
    if (!out->member && !(override_perm && usr_can(p, override_perm)))
        return err_set(e, ERR_NOT_FOUND, "Chat no encontrado");
    return 0;
}
