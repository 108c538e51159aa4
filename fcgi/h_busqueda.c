/* h_busqueda.c: message search (GET /buscar, API.md §9). */
#include <string.h>

#include "domain/busq.h"
#include "routes.h"

/* An optional id query parameter: 0 when absent. */
static int busqueda_id(struct req *rq, const char *name, long long *out, struct err *e)
{
    bool bad = false;
    const char *s = http_query(rq, name, &bad);
    *out = 0;
    if (!s)
        return 0;
    if (bad || route_parse_id(s, out) < 0)
        return err_set(e, ERR_INVALID, "%s debe ser un id", name);
    return 0;
}

/* An optional text query parameter; NULL when absent or empty. */
static int busqueda_str(struct req *rq, const char *name, const char **out, struct err *e)
{
    bool bad = false;
    *out = http_query(rq, name, &bad);
    if (bad)
        return err_set(e, ERR_INVALID, "El parámetro %s está mal codificado", name);
    if (*out && !**out)
        *out = NULL;
    return 0;
}

int h_buscar(struct req *rq, struct err *e)
{
    struct busq_in in = { .con_archivos = -1, .limite = 50 };
    const char *orden, *con, *limite;
    if (busqueda_str(rq, "q", &in.q, e) < 0 || busqueda_id(rq, "chat_id", &in.chat_id, e) < 0 ||
        busqueda_id(rq, "autor_id", &in.autor_id, e) < 0 ||
        busqueda_str(rq, "desde", &in.desde, e) < 0 || busqueda_str(rq, "hasta", &in.hasta, e) < 0 ||
        busqueda_str(rq, "tipo", &in.tipo, e) < 0 || busqueda_str(rq, "orden", &orden, e) < 0 ||
        busqueda_str(rq, "cursor", &in.cursor, e) < 0 ||
        busqueda_str(rq, "con_archivos", &con, e) < 0 || busqueda_str(rq, "limite", &limite, e) < 0)
        return -1;
    if (orden && strcmp(orden, "fecha") == 0)
        in.por_fecha = true;
    else if (orden && strcmp(orden, "relevancia") != 0)
        return err_set(e, ERR_INVALID, "orden debe ser relevancia o fecha");
    if (con && (strcmp(con, "true") == 0 || strcmp(con, "1") == 0))
        in.con_archivos = 1;
    else if (con && (strcmp(con, "false") == 0 || strcmp(con, "0") == 0))
        in.con_archivos = 0;
    else if (con)
        return err_set(e, ERR_INVALID, "con_archivos debe ser true o false");
    if (limite) {
        long long v;
        if (route_parse_id(limite, &v) < 0 || v > 200)
            return err_set(e, ERR_INVALID, "limite debe ser un entero entre 1 y 200");
        in.limite = (int)v;
    }
    json_object *o;
    if (busq_search(rq->db, rq->a, &rq->who, &in, &o, e) < 0)
        return -1;
    return http_json(rq, 200, o);
}
