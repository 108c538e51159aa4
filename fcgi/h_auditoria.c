/* h_auditoria.c: reading the audit trail: GET /interno/auditoria (service
 * token). */
#include <string.h>

#include "core/jsonx.h"
#include "domain/audit.h"
#include "domain/usr.h"
#include "routes.h"

/* A text filter: absent is NULL; present must decode and be non-empty. */
static int audit_q_text(struct req *rq, const char *name, const char **out, struct err *e)
{
    bool bad = false;
    *out = http_query(rq, name, &bad);
    if (*out && (bad || !**out))
        return err_set(e, ERR_INVALID, "%s inválido", name);
    return 0;
}

static int audit_q_id(struct req *rq, const char *name, long long *out, struct err *e)
{
    bool bad = false;
    const char *v = http_query(rq, name, &bad);
    *out = 0;
    if (v && (bad || route_parse_id(v, out) < 0))
        return err_set(e, ERR_INVALID, "%s debe ser un id", name);
    return 0;
}

/* Parses the filters shared by the service and the audit page. */
static int h_auditoria_query(struct req *rq, struct audit_query *q, struct err *e)
{
    memset(q, 0, sizeof(*q));
    long long antes;
    if (http_paging(rq, &q->limite, &antes, NULL, e) < 0 ||
        audit_q_text(rq, "desde", &q->desde, e) < 0 ||
        audit_q_text(rq, "hasta", &q->hasta, e) < 0 ||
        audit_q_text(rq, "actor", &q->actor, e) < 0 ||
        audit_q_text(rq, "accion", &q->accion, e) < 0 ||
        audit_q_id(rq, "chat_id", &q->chat_id, e) < 0 ||
        audit_q_id(rq, "cursor", &q->cursor, e) < 0)
        return -1;
    return 0;
}

static int h_auditoria_page(struct req *rq, const struct audit_query *q, struct err *e)
{
    json_object *arr;
    long long next;
    bool hay_mas;
    if (audit_list(rq->db, rq->a, q, &arr, &next, &hay_mas, e) < 0)
        return -1;
    json_object *o = jsonx_new_object(rq->a);
    jsonx_add(o, "registros", arr);
    json_object_object_add(o, "cursor", next ? json_object_new_string(db_ll(rq->a, next)) : NULL);
    json_object_object_add(o, "hay_mas", json_object_new_boolean(hay_mas));
    return http_json(rq, 200, o);
}

/* The audit page's endpoints take a user token holding the configured
 * auditoria_permiso. */
static int audit_allowed(struct req *rq, struct err *e)
{
    if (!usr_can(&rq->who, rq->cfg->auditoria_permiso))
        return err_set(e, ERR_FORBIDDEN, "Se requiere el permiso de auditoría");
    return 0;
}

int h_auditoria_list(struct req *rq, struct err *e)
{
    struct audit_query q;
    if (audit_allowed(rq, e) < 0 || h_auditoria_query(rq, &q, e) < 0)
        return -1;
    return h_auditoria_page(rq, &q, e);
}

int h_auditoria_mensajes(struct req *rq, struct err *e)
{
    long long chat_id, alrededor;
    int limite;
    long long antes;
    bool bad = false;
    if (audit_allowed(rq, e) < 0 || http_id(rq, "id", &chat_id, e) < 0 ||
        http_paging(rq, &limite, &antes, NULL, e) < 0 ||
        audit_q_id(rq, "alrededor", &alrededor, e) < 0)
        return -1;
    const char *en = http_query(rq, "en", &bad);
    if (bad)
        return err_set(e, ERR_INVALID, "en inválido");
    if (!http_query(rq, "limite", &bad))
        limite = 25;
    json_object *o;
    if (audit_conversation(rq->db, rq->a, chat_id, alrededor, en, limite, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}

int h_interno_auditoria(struct req *rq, struct err *e)
{
    struct audit_query q;
    if (h_auditoria_query(rq, &q, e) < 0)
        return -1;
    return h_auditoria_page(rq, &q, e);
}
