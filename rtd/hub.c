/* hub.c: rooms (chat:<id>), users (user:<id>) and delivery to sockets. */
#include "hub.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "domain/evt.h"

void hub_drop_queue(struct rt_conn *c)
{
    while (c->qhead) {
        struct rt_out *o = c->qhead;
        c->qhead = o->next;
        rt_buf_unref(o->b);
        free(o);
    }
    c->qtail = NULL;
    c->qlen = 0;
    c->qbytes = 0;
}

void hub_send(struct hub *h, struct rt_conn *c, struct rt_buf *b)
{
    if (c->state == RT_CLOSING)
        return;
    /* past rtd_queue_max_bytes a socket is a slow consumer: its backlog is
     * dropped now (not drained first) and it is closed; a frame into an
     * empty queue always goes */
    if (c->qbytes && (uint64_t)c->qbytes + b->len > (uint64_t)h->cfg->rtd_queue_max_bytes) {
        h->stats->slow_consumers++;
        hub_drop_queue(c);
        hub_close(c, "slow_consumer", HUB_CLOSE_DROP);
        return;
    }
    struct rt_out *o = malloc(sizeof(*o));
    if (!o)
        abort();
    o->next = NULL;
    o->b = b;
    b->refs++;
    if (c->qtail)
        c->qtail->next = o;
    else
        c->qhead = o;
    c->qtail = o;
    c->qlen++;
    c->qbytes += b->len;
    lws_callback_on_writable(c->wsi);
}

void hub_close(struct rt_conn *c, const char *reason, enum hub_close_how how)
{
    if (c->state == RT_CLOSING)
        return;
    c->state = RT_CLOSING;
    c->reason = reason;
    c->close_how = (uint8_t)how;
    lws_callback_on_writable(c->wsi);
}

static struct rt_room *hub_room(struct hub *h, long long chat_id, bool create)
{
    struct rt_room *r = rt_map_get(&h->rooms, (uint64_t)chat_id);
    if (!r && create) {
        r = calloc(1, sizeof(*r));
        if (!r)
            abort();
        r->chat_id = chat_id;
        rt_map_put(&h->rooms, (uint64_t)chat_id, r);
    }
    return r;
}

void hub_reserve(struct rt_conn *c, size_t n)
{
    if (c->nrooms + n <= c->caprooms)
        return;
    c->caprooms = c->nrooms + (uint32_t)n;
    c->rooms = realloc(c->rooms, c->caprooms * sizeof(*c->rooms));
    if (!c->rooms)
        abort();
}

void hub_join(struct hub *h, struct rt_conn *c, long long chat_id)
{
    for (uint32_t i = 0; i < c->nrooms; i++)
        if (c->rooms[i].room->chat_id == chat_id)
            return;
    struct rt_room *r = hub_room(h, chat_id, true);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4;
        r->m = realloc(r->m, r->cap * sizeof(*r->m));
        if (!r->m)
            abort();
    }
    if (c->nrooms == c->caprooms) {
        c->caprooms = c->caprooms ? c->caprooms * 2 : 4;
        c->rooms = realloc(c->rooms, c->caprooms * sizeof(*c->rooms));
        if (!c->rooms)
            abort();
    }
    r->m[r->n] = (struct rt_member){ c, c->nrooms };
    c->rooms[c->nrooms] = (struct rt_slot){ r, r->n };
    r->n++;
    c->nrooms++;
}

/* Removes c's slot s from its room and from c, both by swapping the last
 * entry into the hole. */
static void hub_unslot(struct hub *h, struct rt_conn *c, uint32_t s)
{
    struct rt_room *r = c->rooms[s].room;
    uint32_t idx = c->rooms[s].idx;
    r->m[idx] = r->m[--r->n];
    if (idx < r->n)
        r->m[idx].c->rooms[r->m[idx].slot].idx = idx;
    c->rooms[s] = c->rooms[--c->nrooms];
    if (s < c->nrooms)
        c->rooms[s].room->m[c->rooms[s].idx].slot = s;
    if (r->n == 0) {
        rt_map_del(&h->rooms, (uint64_t)r->chat_id);
        free(r->m);
        free(r);
    }
}

void hub_leave(struct hub *h, struct rt_conn *c, long long chat_id)
{
    for (uint32_t i = 0; i < c->nrooms; i++)
        if (c->rooms[i].room->chat_id == chat_id) {
            hub_unslot(h, c, i);
            return;
        }
}

void hub_leave_all(struct hub *h, struct rt_conn *c)
{
    while (c->nrooms)
        hub_unslot(h, c, c->nrooms - 1);
    free(c->rooms);
    c->rooms = NULL;
    c->caprooms = 0;
}

void hub_room_send(struct hub *h, long long chat_id, struct rt_buf *b, long long skip_user)
{
    struct rt_room *r = hub_room(h, chat_id, false);
    if (!r)
        return;
    /* hub_send may close (not free) a socket: the array stays intact */
    for (uint32_t i = 0; i < r->n; i++) {
        struct rt_conn *c = r->m[i].c;
        if (skip_user && c->user && c->user->id == skip_user)
            continue;
        hub_send(h, c, b);
    }
}

void hub_user_send(struct hub *h, long long user_id, struct rt_buf *b)
{
    struct rt_user *u = rt_map_get(&h->users, (uint64_t)user_id);
    if (!u)
        return;
    for (struct rt_conn *c = u->conns; c; c = c->unext)
        hub_send(h, c, b);
}

struct rt_user *hub_user(struct hub *h, long long user_id)
{
    return rt_map_get(&h->users, (uint64_t)user_id);
}

void hub_user_attach(struct hub *h, struct rt_conn *c, long long user_id)
{
    struct rt_user *u = rt_map_get(&h->users, (uint64_t)user_id);
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u)
            abort();
        u->id = user_id;
        pres_user_add(h->pres, &u->pres, user_id);
        rt_map_put(&h->users, (uint64_t)user_id, u);
    }
    c->user = u;
    c->uprev = NULL;
    c->unext = u->conns;
    if (u->conns)
        u->conns->uprev = c;
    u->conns = c;
    u->pres.sockets++;
    if (c->inactive)
        u->pres.inactive++;
    pres_changed(h->pres, &u->pres);
}

void hub_user_detach(struct hub *h, struct rt_conn *c)
{
    struct rt_user *u = c->user;
    if (!u)
        return;
    if (c->uprev)
        c->uprev->unext = c->unext;
    else
        u->conns = c->unext;
    if (c->unext)
        c->unext->uprev = c->uprev;
    c->user = NULL;
    u->pres.sockets--;
    if (c->inactive)
        u->pres.inactive--;
    pres_changed(h->pres, &u->pres);
}

/* Presence let go of a user: the record goes once nothing refers to it
 * (no socket; presence does not hold it). */
static void hub_user_release(void *arg, struct pres_user *pu)
{
    struct hub *h = arg;
    struct rt_user *u = lws_container_of(pu, struct rt_user, pres);
    if (u->pres.sockets || pres_user_held(&u->pres) || h->stopping)
        return;
    rt_map_del(&h->users, (uint64_t)u->id);
    pres_user_remove(&u->pres);
    free(u);
}

void hub_init(struct hub *h, const struct cfg *cfg, struct rt_stats *stats,
              struct presence *pres)
{
    memset(h, 0, sizeof(*h));
    h->cfg = cfg;
    h->stats = stats;
    h->pres = pres;
    pres_on_release(pres, hub_user_release, h);
}

void hub_stop(struct hub *h)
{
    h->stopping = true;
}

/* "user:12" -> 12; 0 when s does not start with prefix or is no id. */
static long long hub_sala_id(const char *sala, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(sala, prefix, n) != 0)
        return 0;
    char *end;
    long long id = strtoll(sala + n, &end, 10);
    return *end || id <= 0 ? 0 : id;
}

/* The member user ids of a chat:miembros payload ({chat_id, miembros:
 * [{usuario: {id}}]} or [{usuario_id}] or [id]). Returns a malloc'd array. */
static long long *hub_member_ids(json_object *payload, size_t *n)
{
    *n = 0;
    json_object *arr;
    if (!json_object_object_get_ex(payload, "miembros", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return NULL;
    size_t len = json_object_array_length(arr);
    long long *ids = calloc(len ? len : 1, sizeof(*ids));
    if (!ids)
        abort();
    for (size_t i = 0; i < len; i++) {
        json_object *m = json_object_array_get_idx(arr, i), *u, *id = NULL;
        if (json_object_is_type(m, json_type_int))
            id = m;
        else if (json_object_object_get_ex(m, "usuario", &u))
            json_object_object_get_ex(u, "id", &id);
        else
            json_object_object_get_ex(m, "usuario_id", &id);
        if (id && json_object_is_type(id, json_type_int))
            ids[(*n)++] = json_object_get_int64(id);
    }
    return ids;
}

static long long hub_json_id(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int))
        return json_object_get_int64(v);
    return 0;
}

/* Brings the room of chat_id in line with a members list: before the
 * event goes out, local sockets of members join (so newcomers hear of it);
 * after, sockets of anyone else leave (so the removed hear of it too). */
static void hub_sync_members(struct hub *h, long long chat_id, const long long *ids, size_t n,
                             bool before)
{
    if (before) {
        for (size_t k = 0; k < n; k++) {
            struct rt_user *u = rt_map_get(&h->users, (uint64_t)ids[k]);
            for (struct rt_conn *c = u ? u->conns : NULL; c; c = c->unext)
                if (c->state == RT_CONNECTED)
                    hub_join(h, c, chat_id);
        }
        return;
    }
    struct rt_room *r = hub_room(h, chat_id, false);
    for (uint32_t i = r ? r->n : 0; i-- > 0;) {
        struct rt_conn *c = r->m[i].c;
        bool keep = false;
        for (size_t k = 0; k < n && !keep; k++)
            keep = c->user && c->user->id == ids[k];
        if (!keep) {
            bool last = r->n == 1;
            hub_leave(h, c, chat_id);
            if (last)
                break; /* the room is gone */
        }
    }
}

static void hub_recent_add(struct hub *h, uint8_t op, long long user, long long chat,
                           long long *ids, size_t nids)
{
    struct rt_recent *r = &h->recent[h->recent_next++ % RT_RECENT];
    free(r->ids);
    *r = (struct rt_recent){ lws_now_usecs(), op, user, chat, ids, nids };
}

void hub_release(struct hub *h)
{
    for (size_t i = 0; i < h->users.cap; i++)
        if (rt_map_live(&h->users, i))
            free(h->users.e[i].val);
    rt_map_release(&h->users);
    /* rooms are freed with their last socket */
    rt_map_release(&h->rooms);
    for (unsigned i = 0; i < RT_RECENT; i++) {
        free(h->recent[i].ids);
        h->recent[i].ids = NULL;
    }
}

void hub_replay(struct hub *h, struct rt_conn *c, long long user, lws_usec_t since)
{
    unsigned n = h->recent_next < RT_RECENT ? h->recent_next : RT_RECENT;
    for (unsigned k = h->recent_next - n; k != h->recent_next; k++) {
        const struct rt_recent *r = &h->recent[k % RT_RECENT];
        if (r->at < since)
            continue;
        switch (r->op) {
        case RT_RECENT_JOIN:
            if (r->user == user)
                hub_join(h, c, r->chat);
            break;
        case RT_RECENT_LEAVE:
            if (r->user == user)
                hub_leave(h, c, r->chat);
            break;
        case RT_RECENT_GONE:
            hub_leave(h, c, r->chat);
            break;
        case RT_RECENT_MEMBERS: {
            bool member = false;
            for (size_t i = 0; i < r->nids && !member; i++)
                member = r->ids[i] == user;
            if (member)
                hub_join(h, c, r->chat);
            else
                hub_leave(h, c, r->chat);
            break;
        }
        }
    }
}

/* Applies what a membership event means for the rooms. before: run before
 * the event is delivered (joins), else after (leaves). */
static void hub_membership(struct hub *h, enum evt_id id, const char *sala, json_object *p,
                           bool before)
{
    long long uid = hub_sala_id(sala, "user:");
    long long cid = hub_sala_id(sala, "chat:");
    if (before && uid && id == EVT_CHAT_NUEVO) {
        long long chat = hub_json_id(p, "id");
        if (chat)
            hub_recent_add(h, RT_RECENT_JOIN, uid, chat, NULL, 0);
        struct rt_user *u = rt_map_get(&h->users, (uint64_t)uid);
        for (struct rt_conn *c = u && chat ? u->conns : NULL; c; c = c->unext)
            if (c->state == RT_CONNECTED)
                hub_join(h, c, chat);
    } else if (!before && uid && id == EVT_CHAT_ELIMINADO) {
        long long chat = hub_json_id(p, "chat_id");
        if (chat)
            hub_recent_add(h, RT_RECENT_LEAVE, uid, chat, NULL, 0);
        struct rt_user *u = rt_map_get(&h->users, (uint64_t)uid);
        for (struct rt_conn *c = u && chat ? u->conns : NULL; c; c = c->unext)
            hub_leave(h, c, chat);
    } else if (!before && cid && id == EVT_CHAT_ELIMINADO) {
        struct rt_room *r;
        hub_recent_add(h, RT_RECENT_GONE, 0, cid, NULL, 0);
        while ((r = hub_room(h, cid, false)) != NULL)
            hub_leave(h, r->m[r->n - 1].c, cid);
    } else if (cid && id == EVT_CHAT_MIEMBROS) {
        size_t n;
        long long *ids = hub_member_ids(p, &n);
        if (ids)
            hub_sync_members(h, cid, ids, n, before);
        if (ids && !before)
            hub_recent_add(h, RT_RECENT_MEMBERS, 0, cid, ids, n);
        else
            free(ids);
    } else if (!before && uid && id == EVT_USUARIO_DESACTIVADO) {
        struct rt_user *u = rt_map_get(&h->users, (uint64_t)uid);
        struct rt_buf *bye = rt_buf_new("41", 2);
        for (struct rt_conn *c = u ? u->conns : NULL; c; c = c->unext) {
            hub_send(h, c, bye);
            hub_close(c, "deactivated", HUB_CLOSE_NORMAL);
        }
        rt_buf_unref(bye);
    }
}

void hub_deliver(struct hub *h, const char *tipo, const char *sala, const char *payload,
                 const long long *chats, size_t nchats, long long skip_user, int64_t at_us)
{
    json_object *p = NULL;
    /* the events that move sockets between rooms: the EVT_F_MEMBERSHIP
     * rows of the vocabulary (domain/evt.h) */
    const struct evt_kind *kind = evt_find(tipo);
    bool member = kind && (kind->flags & EVT_F_MEMBERSHIP);
    if (member) {
        p = json_tokener_parse(payload);
        hub_membership(h, kind->id, sala, p, true);
    }
    struct rt_buf *b = rt_buf_event(tipo, payload);
    b->at_us = at_us;
    rt_stats_event(h->stats, tipo);
    long long id;
    if ((id = hub_sala_id(sala, "chat:")) != 0) {
        hub_room_send(h, id, b, skip_user);
    } else if ((id = hub_sala_id(sala, "user:")) != 0) {
        hub_user_send(h, id, b);
    } else if ((id = hub_sala_id(sala, "presencia:")) != 0) {
        /* everyone sharing a chat with the user, each socket once */
        uint32_t stamp = ++h->stamp;
        for (size_t k = 0; k < nchats; k++) {
            struct rt_room *r = hub_room(h, chats[k], false);
            for (uint32_t i = 0; r && i < r->n; i++) {
                struct rt_conn *c = r->m[i].c;
                if (c->stamp == stamp)
                    continue;
                c->stamp = stamp;
                hub_send(h, c, b);
            }
        }
    } else if (strcmp(sala, "todos") == 0) {
        /* e.g. an announcement to everyone: every authenticated socket */
        for (size_t i = 0; i < h->users.cap; i++) {
            if (!rt_map_live(&h->users, i))
                continue;
            struct rt_user *u = h->users.e[i].val;
            for (struct rt_conn *c = u->conns; c; c = c->unext)
                hub_send(h, c, b);
        }
    } else {
        log_debug("event=deliver_skip sala=%s tipo=%s", sala, tipo);
    }
    rt_buf_unref(b);
    if (member)
        hub_membership(h, kind->id, sala, p, false);
    json_object_put(p);
    h->delivered++;
}
