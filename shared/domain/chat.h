/* chat.h: chats and their members: access checks, listing, 1:1 and group
 * lifecycle, membership changes (API.md §4.2). */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/db.h"
#include "core/err.h"
#include "domain/usr.h"

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

/* The access look-up sent ahead: chat_access_defer queues it (db_defer)
 * so that it goes with the caller's next statement, in the same round
 * trip; after that statement ran, chat_access_done checks it exactly as
 * chat_access_get would (and must be called before using what the
 * statement returned). ah must stay valid until then. */
struct chat_access_ahead {
    bool ran, found;
    struct chat_access acc;
};
int chat_access_defer(struct db *d, struct arena *a, const struct principal *p,
                      long long chat_id, struct chat_access_ahead *ah, struct err *e);
int chat_access_done(const struct chat_access_ahead *ah, const struct principal *p,
                     int override_perm, struct chat_access *out, struct err *e);

/* Chat objects (API.md §4) for the pairs (chat_ids[i], viewers[i]), as that
 * viewer sees them (mi_rol, silenciado, no_leidos, otro_usuario: null mi_rol
 * when the viewer is not a member; viewer 0 for the room's public view).
 * ultimo_mensaje is the full Mensaje as msg_viewer sees it. out[i] is NULL
 * when chat_ids[i] does not exist or is deleted. Two queries whatever n is;
 * objects owned by the arena. */
int chat_load(struct db *d, struct arena *a, const long long *chat_ids, const long long *viewers,
              size_t n, long long msg_viewer, json_object **out, struct err *e);

/* p's chats, newest activity first (the later of the chat's creation and
 * its last message), as an array of Chat. */
int chat_list(struct db *d, struct arena *a, const struct principal *p, json_object **out_array,
              struct err *e);

/* One chat as p sees it: member, or holder of 565. ERR_NOT_FOUND else. */
int chat_get(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
             json_object **out, struct err *e);

/* Get-or-create the 1:1 chat of p with the active user other_id (or, when
 * other_id is 0, the one with id_erp other_erp). Race-safe: concurrent
 * calls for one pair give one chat. *created tells which. ERR_NOT_FOUND for
 * an unknown or deactivated user, ERR_INVALID for oneself (the pair is
 * ordered a < b: no self-chat). New: events chat:nuevo to user:<a>, user:<b>. */
int chat_directo(struct db *d, struct arena *a, const struct principal *p, long long other_id,
                 const char *other_erp, bool *created, json_object **out, struct err *e);

/* A new group. nombre 1..200 characters, descripcion up to 2000 (NULL for
 * none), miembros: active users (unknown ids are ERR_INVALID; p is added
 * as admin anyway; duplicates ignored). Posts a sistema message; events
 * chat:nuevo to each member's user:<id>. */
struct chat_group_in {
    const char *nombre;
    const char *descripcion;
    const long long *miembros;
    size_t nmiembros;
    bool restringido;
};
int chat_create_group(struct db *d, struct arena *a, const struct principal *p,
                      const struct chat_group_in *in, json_object **out, struct err *e);

/* PATCH of a group by one of its admins: each has_* field set is applied
 * (descripcion and imagen_media_id may be cleared with NULL / 0).
 * imagen_media_id must be an image uploaded by p (else ERR_INVALID). A
 * directo chat or a non-admin: ERR_FORBIDDEN. Event chat:actualizado (to
 * chat:<id>, public view) when something changed. */
struct chat_patch {
    bool has_nombre, has_descripcion, has_imagen, has_restringido;
    const char *nombre;
    const char *descripcion;
    long long imagen_media_id;
    bool restringido;
    const char *media_dir;      /* where a replaced image's file is removed */
};
int chat_update(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                const struct chat_patch *in, json_object **out, struct err *e);

/* Soft delete: a group admin, or a holder of 565 (the only way to delete a
 * directo chat; it then releases its pair so a new one can be made). Event
 * chat:eliminado {chat_id} to chat:<id>. */
int chat_delete(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                struct err *e);

/* The members of a chat (member or 565): array of Miembro, by joined_at. */
int chat_members(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                 json_object **out_array, struct err *e);

/* Adds active users to a group (its admins only). Already members are
 * skipped; *added tells whether anyone was added. Posts a sistema message;
 * events chat:nuevo to each added user:<id>, chat:miembros to chat:<id>.
 * *out_array is the member list now. */
int chat_members_add(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                     const long long *ids, size_t n, bool *added, json_object **out_array,
                     struct err *e);

/* Sets a member's rol (group admins). Demoting the last admin is
 * ERR_CONFLICT. *out is the Miembro now. */
int chat_member_role(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
                     long long usuario_id, bool admin, json_object **out, struct err *e);

/* Removes a member (group admins), or p leaves (usuario_id == p->id). When
 * the last admin leaves, the longest-standing member becomes admin. Posts
 * a sistema message; events chat:miembros to chat:<id> and chat:eliminado
 * {chat_id} to the removed user's user:<id> (rtd moves their sockets out). */
int chat_member_remove(struct db *d, struct arena *a, const struct principal *p,
                       long long chat_id, long long usuario_id, struct err *e);

/* Mutes or unmutes the chat for p (a member). Event chat:actualizado to
 * user:<p> (p's other devices) when it changed. *out is the Chat. */
int chat_mute(struct db *d, struct arena *a, const struct principal *p, long long chat_id,
              bool silenciado, json_object **out, struct err *e);

/* ---- chats tied to an ERP record (API.md §9) ---- */

/* What PUT /interno/contextos/{tipo}/{clave} sends, type-checked by the
 * handler. titulo NULL keeps it (required to create); has_url with url
 * NULL clears the link; has_miembros makes the members exactly the
 * active users among miembros (id_erp values; an unknown one is
 * ERR_INVALID, a deactivated one is left out). */
struct chat_contexto_in {
    const char *tipo;           /* [a-z0-9_]{1,50} */
    const char *clave;          /* 1..100 characters */
    const char *titulo;         /* 1..200 characters */
    bool has_url;
    const char *url;            /* http(s)://... or /path, up to 2000 */
    bool has_miembros;
    const char *const *miembros;
    size_t nmiembros;           /* at most 1000 */
};

/* Creates or updates the group chat of one ERP record, for the service
 * caller, in one transaction serialised per record (concurrent PUTs of one
 * record make one chat). A new chat needs titulo and at least one active
 * member; its members are plain members (the ERP manages them), nombre is
 * the titulo. Events: chat:nuevo to each added member, chat:eliminado to
 * each removed one, chat:miembros and a sistema message when membership
 * changed, chat:actualizado when titulo or url changed. Nothing changed:
 * nothing written. *out is the Chat (public view, with contexto). */
int chat_contexto_put(struct db *d, struct arena *a, const struct chat_contexto_in *in,
                      bool *created, json_object **out, struct err *e);

/* The live chat of record (tipo, clave) as p sees it, when p is a member
 * (or holds 565); ERR_NOT_FOUND otherwise, as for a chat that is not
 * there. */
int chat_contexto_get(struct db *d, struct arena *a, const struct principal *p, const char *tipo,
                      const char *clave, json_object **out, struct err *e);

#endif
