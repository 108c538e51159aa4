/* test_encuestas.c: polls (API.md §4.5) against the running stack:
 * creation rules, single and multiple choice, withdrawal, closing by the
 * author / an admin / others, expiry, anonymity across every endpoint and
 * event, and concurrent vote changes that must end with counts matching
 * the rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "it.h"

struct user {
    long long id;
    char *tok;
};

static void user_new(struct user *u, const char *tag)
{
    u->id = it_user(tag, NULL, NULL, &u->tok);
    CU_ASSERT_FATAL(u->id > 0);
}

/* A group made by owner (admin) with the others as members. */
static long long group_new(const struct user *owner, const struct user *const *members, size_t n,
                           int restringido)
{
    char ids[1024] = "";
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += (size_t)snprintf(ids + w, sizeof(ids) - w, "%s%lld", i ? "," : "", members[i]->id);
    struct it_resp *r = it_req("POST", "/chats", owner->tok,
                               it_fmt("{\"nombre\":\"Encuestas\",\"miembros\":[%s],"
                                      "\"restringido\":%s}", ids, restringido ? "true" : "false"));
    CU_ASSERT_EQUAL_FATAL(r->status, 201);
    long long id = it_get_ll(r, "id");
    it_free(r);
    return id;
}

/* Posts a poll; returns the response (caller frees). */
static struct it_resp *poll_post(const struct user *u, long long chat, const char *body)
{
    return it_req("POST", it_fmt("/chats/%lld/encuestas", chat), u->tok, body);
}

/* A poll created with 201: its encuesta id, and option ids into opts. */
static long long poll_new(const struct user *u, long long chat, const char *body, long long *opts,
                          size_t nopts, long long *mensaje_id)
{
    struct it_resp *r = poll_post(u, chat, body);
    it_must(r, 201);
    if (r->status != 201)
        fprintf(stderr, "poll_new: %ld %s\n", r->status, r->body);
    for (size_t i = 0; i < nopts; i++)
        opts[i] = it_get_ll(r, it_fmt("encuesta.opciones.%zu.id", i));
    if (mensaje_id)
        *mensaje_id = it_get_ll(r, "id");
    long long id = it_get_ll(r, "encuesta.id");
    it_free(r);
    return id;
}

static struct it_resp *vote(const struct user *u, long long poll, const char *sel)
{
    return it_req("PUT", it_fmt("/encuestas/%lld/voto", poll), u->tok,
                  it_fmt("{\"opciones\":%s}", sel));
}

/* Everything a poll write may touch: messages, events, polls, votes. */
static char *fingerprint(void)
{
    char *base = it_db_fingerprint();
    long long extra = it_db_ll("SELECT (SELECT count(*) FROM encuestas) * 1000003"
                               " + (SELECT count(*) FROM encuestas_opciones) * 1009"
                               " + (SELECT count(*) FROM encuestas WHERE cerrada_at IS NOT NULL) * 7"
                               " + (SELECT coalesce(sum(opcion_id * usuario_id), 0) FROM encuestas_votos)");
    char *s = malloc(strlen(base) + 32);
    sprintf(s, "%s|%lld", base, extra);
    free(base);
    return s;
}

static const char *iso_in(long seconds)
{
    static char buf[4][40];
    static int n;
    char *b = buf[n++ % 4];
    time_t t = time(NULL) + seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(b, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

static long long opt_votes(const struct it_resp *r, size_t i)
{
    return it_get_ll(r, it_fmt("encuesta.opciones.%zu.votos", i));
}

static void test_encuestas__create(void)
{
    struct user a, b, out;
    user_new(&a, "pc_a");
    user_new(&b, "pc_b");
    user_new(&out, "pc_out");
    const struct user *m[] = { &b };
    long long chat = group_new(&a, m, 1, 0);
    char *before = fingerprint();
    char twelve[1024] = "", thirteen[1100], long_opt[256];
    size_t w = 0;
    for (int i = 0; i < 12; i++)
        w += (size_t)snprintf(twelve + w, sizeof(twelve) - w, "%s\"op %d\"", i ? "," : "", i);
    snprintf(thirteen, sizeof(thirteen), "%s,\"op 12\"", twelve);
    memset(long_opt, 'x', 201);
    long_opt[201] = '\0';
    const char *bad[] = {
        "{\"pregunta\":\"P\",\"opciones\":[\"solo\"]}",
        "{\"pregunta\":\"P\",\"opciones\":[]}",
        it_fmt("{\"pregunta\":\"P\",\"opciones\":[%s]}", thirteen),
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"\"]}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"   \"]}",
        it_fmt("{\"pregunta\":\"P\",\"opciones\":[\"a\",\"%s\"]}", long_opt),
        "{\"pregunta\":\"P\",\"opciones\":[\"Sí\",\" sí \"]}",
        "{\"pregunta\":\"P\",\"opciones\":[\"Rojo\",\"rojo\"]}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",7]}",
        "{\"pregunta\":\"P\",\"opciones\":\"a,b\"}",
        "{\"pregunta\":\"P\"}",
        "{\"opciones\":[\"a\",\"b\"]}",
        "{\"pregunta\":\"  \",\"opciones\":[\"a\",\"b\"]}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"multiple\":\"si\"}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"anonima\":1}",
        it_fmt("{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"cierra_at\":\"%s\"}", iso_in(-60)),
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"cierra_at\":\"mañana\"}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"cierra_at\":\"2099-01-01T10:00:00\"}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"cierra_at\":\"2099-02-30T10:00:00Z\"}",
        "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"],\"client_id\":\"\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct it_resp *r = poll_post(&a, chat, bad[i]);
        if (r->status != 400)
            fprintf(stderr, "bad[%zu] %s\n", i, bad[i]);
        it_expect(r, 400, "solicitud_invalida");
    }
    /* not a member, or no such chat: 404 */
    it_expect(poll_post(&out, chat, "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"]}"), 404,
           "no_encontrado");
    it_expect(poll_post(&a, 999999999, "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"]}"), 404, NULL);
    char *after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);

    /* 12 options, multiple, with a closing time: the Mensaje */
    struct it_resp *r = poll_post(&a, chat, it_fmt("{\"pregunta\":\"¿Qué día?\",\"opciones\":[%s],"
                                                   "\"multiple\":true,\"cierra_at\":\"%s\","
                                                   "\"client_id\":\"p-1\"}", twelve, iso_in(3600)));
    it_must(r, 201);
    long long mid = it_get_ll(r, "id");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "tipo"), "encuesta");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "contenido"), "¿Qué día?");
    CU_ASSERT_EQUAL(it_get_ll(r, "chat_id"), chat);
    CU_ASSERT_EQUAL(it_get_ll(r, "autor.id"), a.id);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "encuesta.pregunta"), "¿Qué día?");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.multiple")), 1);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.anonima")), 0);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.cerrada")), 0);
    CU_ASSERT_PTR_NOT_NULL(it_get_str(r, "encuesta.cierra_at"));
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.opciones")), 12);
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "encuesta.opciones.0.texto"), "op 0");
    CU_ASSERT_STRING_EQUAL(it_get_str(r, "encuesta.opciones.11.texto"), "op 11");
    CU_ASSERT_EQUAL(opt_votes(r, 0), 0);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.opciones.0.votantes")), 0);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.mis_votos")), 0);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 0);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'mensaje:nuevo'"
                              " AND sala = 'chat:%lld' AND (payload->>'id')::bigint = %lld"
                              " AND payload->'encuesta'->>'pregunta' = '¿Qué día?'"
                              " AND NOT payload->'encuesta' ? 'mis_votos'", chat, mid), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas_opciones o JOIN encuestas e"
                              " ON e.id = o.encuesta_id WHERE e.mensaje_id = %lld", mid), 12);
    /* a retry with the same client_id: the first poll, 200, nothing new */
    before = fingerprint();
    r = poll_post(&a, chat, it_fmt("{\"pregunta\":\"¿Qué día?\",\"opciones\":[%s],"
                                   "\"client_id\":\"p-1\"}", twelve));
    it_must(r, 200);
    CU_ASSERT_EQUAL(it_get_ll(r, "id"), mid);
    it_free(r);
    after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    /* 2 options, defaults */
    r = poll_post(&b, chat, "{\"pregunta\":\"¿Sí o no?\",\"opciones\":[\"Sí\",\"No\"]}");
    it_must(r, 201);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.multiple")), 0);
    CU_ASSERT_PTR_NULL(it_get(r, "encuesta.cierra_at"));
    it_free(r);
    free(a.tok);
    free(b.tok);
    free(out.tok);
}

static void test_encuestas__restricted_group(void)
{
    struct user a, b;
    user_new(&a, "pr_a");
    user_new(&b, "pr_b");
    const struct user *m[] = { &b };
    long long chat = group_new(&a, m, 1, 1);
    char *before = fingerprint();
    it_expect(poll_post(&b, chat, "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"]}"), 403, "prohibido");
    char *after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    it_expect(poll_post(&a, chat, "{\"pregunta\":\"P\",\"opciones\":[\"a\",\"b\"]}"), 201, NULL);
    free(a.tok);
    free(b.tok);
}

static void test_encuestas__single_choice(void)
{
    struct user a, b, c, out;
    user_new(&a, "ps_a");
    user_new(&b, "ps_b");
    user_new(&c, "ps_c");
    user_new(&out, "ps_out");
    const struct user *m[] = { &b, &c };
    long long chat = group_new(&a, m, 2, 0);
    long long o[3], other[2];
    long long poll = poll_new(&a, chat, "{\"pregunta\":\"Uno\",\"opciones\":[\"x\",\"y\",\"z\"]}",
                              o, 3, NULL);
    poll_new(&a, chat, "{\"pregunta\":\"Otra\",\"opciones\":[\"p\",\"q\"]}", other, 2, NULL);
    struct it_resp *r = vote(&b, poll, it_fmt("[%lld]", o[0]));
    it_must(r, 200);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 1);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.mis_votos.0"), o[0]);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.opciones.0.votantes.0"), b.id);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 1);
    it_free(r);
    /* changing the choice moves the vote */
    r = vote(&b, poll, it_fmt("[%lld]", o[1]));
    CU_ASSERT_EQUAL(opt_votes(r, 0), 0);
    CU_ASSERT_EQUAL(opt_votes(r, 1), 1);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.mis_votos")), 1);
    it_free(r);
    r = vote(&c, poll, it_fmt("[%lld,%lld]", o[1], o[1]));    /* a repeat counts once */
    it_must(r, 200);
    CU_ASSERT_EQUAL(opt_votes(r, 1), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.mis_votos.0"), o[1]);
    it_free(r);
    /* bad selections change nothing */
    char *before = fingerprint();
    it_expect(vote(&b, poll, it_fmt("[%lld,%lld]", o[0], o[1])), 400, "solicitud_invalida");
    it_expect(vote(&b, poll, it_fmt("[%lld]", other[0])), 400, "solicitud_invalida");
    it_expect(vote(&b, poll, "[\"1\"]"), 400, "solicitud_invalida");
    it_expect(vote(&b, poll, "[0]"), 400, "solicitud_invalida");
    it_expect(vote(&b, poll, "5"), 400, "solicitud_invalida");
    it_expect(it_req("PUT", it_fmt("/encuestas/%lld/voto", poll), b.tok, "{}"), 400,
           "solicitud_invalida");
    it_expect(vote(&out, poll, it_fmt("[%lld]", o[0])), 404, "no_encontrado");
    it_expect(vote(&b, 999999999, it_fmt("[%lld]", o[0])), 404, "no_encontrado");
    /* the same selection again: 200, nothing written */
    it_expect(vote(&b, poll, it_fmt("[%lld]", o[1])), 200, NULL);
    char *after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    /* withdraw */
    r = vote(&b, poll, "[]");
    it_must(r, 200);
    CU_ASSERT_EQUAL(opt_votes(r, 1), 1);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.mis_votos")), 0);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 1);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas_votos WHERE encuesta_id = %lld", poll), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas_votos WHERE encuesta_id = %lld"
                              " AND usuario_id = %lld AND opcion_id = %lld", poll, c.id, o[1]), 1);
    /* four vote changes so far, each one encuesta:voto to the chat */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'encuesta:voto'"
                              " AND sala = 'chat:%lld' AND (payload->'encuesta'->>'id')::bigint = %lld"
                              " AND (payload->>'chat_id')::bigint = %lld"
                              " AND NOT payload->'encuesta' ? 'mis_votos'", chat, poll, chat), 4);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'encuesta:voto'"
                              " AND (payload->'encuesta'->>'id')::bigint = %lld"
                              " AND payload->'encuesta'->'opciones'->0 ? 'votantes'", poll), 4);
    free(a.tok);
    free(b.tok);
    free(c.tok);
    free(out.tok);
}

static void test_encuestas__multiple_choice(void)
{
    struct user a, b, c;
    user_new(&a, "pm_a");
    user_new(&b, "pm_b");
    user_new(&c, "pm_c");
    const struct user *m[] = { &b, &c };
    long long chat = group_new(&a, m, 2, 0);
    long long o[3];
    long long poll = poll_new(&a, chat, "{\"pregunta\":\"Varias\",\"opciones\":[\"x\",\"y\",\"z\"],"
                                        "\"multiple\":true}", o, 3, NULL);
    struct it_resp *r = vote(&b, poll, it_fmt("[%lld,%lld]", o[0], o[1]));
    it_must(r, 200);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 1);
    CU_ASSERT_EQUAL(opt_votes(r, 1), 1);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.mis_votos")), 2);
    it_free(r);
    /* the full desired set: x goes, z comes, y stays */
    r = vote(&b, poll, it_fmt("[%lld,%lld]", o[2], o[1]));
    CU_ASSERT_EQUAL(opt_votes(r, 0), 0);
    CU_ASSERT_EQUAL(opt_votes(r, 1), 1);
    CU_ASSERT_EQUAL(opt_votes(r, 2), 1);
    it_free(r);
    r = vote(&c, poll, it_fmt("[%lld,%lld,%lld]", o[0], o[1], o[2]));
    CU_ASSERT_EQUAL(opt_votes(r, 1), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 2);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.opciones.1.votantes")), 2);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas_votos WHERE encuesta_id = %lld", poll), 5);
    r = vote(&c, poll, "[]");
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 1);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas_votos WHERE encuesta_id = %lld", poll), 2);
    free(a.tok);
    free(b.tok);
    free(c.tok);
}

static void test_encuestas__close(void)
{
    struct user a, adm, b, out;
    user_new(&a, "pcl_a");
    user_new(&adm, "pcl_adm");
    user_new(&b, "pcl_b");
    user_new(&out, "pcl_out");
    /* adm owns the group (admin); a is a plain member who posts the poll */
    const struct user *m2[] = { &a, &b };
    long long chat = group_new(&adm, m2, 2, 0);
    long long o[2], o2[2];
    long long poll = poll_new(&a, chat, "{\"pregunta\":\"C\",\"opciones\":[\"x\",\"y\"]}", o, 2, NULL);
    long long poll2 = poll_new(&a, chat, "{\"pregunta\":\"D\",\"opciones\":[\"x\",\"y\"]}", o2, 2, NULL);
    it_expect(vote(&b, poll, it_fmt("[%lld]", o[0])), 200, NULL);
    char *before = fingerprint();
    it_expect(it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), b.tok, NULL), 403, "prohibido");
    it_expect(it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), out.tok, NULL), 404, NULL);
    it_expect(it_req("POST", "/encuestas/999999999/cerrar", a.tok, NULL), 404, NULL);
    char *after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    /* the author closes */
    struct it_resp *r = it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), a.tok, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.cerrada")), 1);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 1);
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM encuestas WHERE id = %lld AND cerrada_por = %lld",
                              poll, a.id), 1);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'encuesta:voto'"
                              " AND (payload->'encuesta'->>'id')::bigint = %lld"
                              " AND (payload->'encuesta'->>'cerrada')::boolean", poll), 1);
    /* then votes get 409 and change nothing; closing again changes nothing */
    before = fingerprint();
    it_expect(vote(&b, poll, it_fmt("[%lld]", o[1])), 409, "conflicto");
    it_expect(vote(&b, poll, "[]"), 409, "conflicto");
    it_expect(it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), a.tok, NULL), 200, NULL);
    after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    /* a chat admin who is not the author closes the other */
    r = it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll2), adm.tok, "{}");
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.cerrada")), 1);
    it_free(r);
    it_expect(vote(&a, poll2, it_fmt("[%lld]", o2[0])), 409, "conflicto");
    /* a deleted poll message: votes and closing are conflicts */
    long long o3[2], mid3;
    long long poll3 = poll_new(&a, chat, "{\"pregunta\":\"E\",\"opciones\":[\"x\",\"y\"]}", o3, 2,
                               &mid3);
    it_expect(it_req("DELETE", it_fmt("/mensajes/%lld", mid3), a.tok, NULL), 204, NULL);
    before = fingerprint();
    it_expect(vote(&b, poll3, it_fmt("[%lld]", o3[0])), 409, "conflicto");
    it_expect(it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll3), a.tok, NULL), 409, "conflicto");
    after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    free(a.tok);
    free(adm.tok);
    free(b.tok);
    free(out.tok);
}

static void test_encuestas__expiry(void)
{
    struct user a, b;
    user_new(&a, "pe_a");
    user_new(&b, "pe_b");
    const struct user *m[] = { &b };
    long long chat = group_new(&a, m, 1, 0);
    long long o[2];
    long long poll = poll_new(&a, chat, it_fmt("{\"pregunta\":\"Pronto\",\"opciones\":[\"x\",\"y\"],"
                                               "\"cierra_at\":\"%s\"}", iso_in(3)), o, 2, NULL);
    struct it_resp *r = vote(&b, poll, it_fmt("[%lld]", o[0]));
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.cerrada")), 0);
    it_free(r);
    sleep(5);
    char *before = fingerprint();
    it_expect(vote(&b, poll, it_fmt("[%lld]", o[1])), 409, "conflicto");
    it_expect(vote(&a, poll, it_fmt("[%lld]", o[1])), 409, "conflicto");
    char *after = fingerprint();
    CU_ASSERT_STRING_EQUAL(after, before);
    free(before);
    free(after);
    /* it reads as closed; closing it now changes nothing */
    r = it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), a.tok, NULL);
    it_must(r, 200);
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.cerrada")), 1);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 1);
    it_free(r);
    free(a.tok);
    free(b.tok);
}

/* The poll's message in a response that lists Mensajes under key, or NULL. */
static json_object *find_msg(const struct it_resp *r, const char *key, long long id)
{
    json_object *arr = it_get(r, key);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *m = json_object_array_get_idx(arr, i), *v;
        if (json_object_object_get_ex(m, "id", &v) && json_object_get_int64(v) == id)
            return m;
    }
    return NULL;
}

/* The key "votantes" (total_votantes is fine) nowhere in a JSON text. */
static void assert_no_voters(const char *text)
{
    const char *hit = strstr(text, "\"votantes\"");
    CU_ASSERT_PTR_NULL(hit);
    if (hit)
        fprintf(stderr, "voters revealed: %.300s\n", hit);
}

static void test_encuestas__anonymity(void)
{
    struct user a, b, c;
    user_new(&a, "pa_a");
    user_new(&b, "pa_b");
    user_new(&c, "pa_c");
    const struct user *m[] = { &b, &c };
    long long chat = group_new(&a, m, 2, 0);   /* a: admin and author */
    struct it_resp *cur = it_req("GET", "/sync/cursor", a.tok, NULL);
    const char *cs = it_get_str(cur, "cursor");
    char cursor[128] = "";
    CU_ASSERT_PTR_NOT_NULL(cs);
    if (cs)
        snprintf(cursor, sizeof(cursor), "%s", cs);
    it_free(cur);
    long long o[2], mid;
    struct it_resp *r = poll_post(&a, chat, "{\"pregunta\":\"Secreta\",\"opciones\":[\"x\",\"y\"],"
                                            "\"anonima\":true,\"multiple\":true}");
    CU_ASSERT_EQUAL_FATAL(r->status, 201);
    assert_no_voters(r->body);
    long long poll = it_get_ll(r, "encuesta.id");
    mid = it_get_ll(r, "id");
    o[0] = it_get_ll(r, "encuesta.opciones.0.id");
    o[1] = it_get_ll(r, "encuesta.opciones.1.id");
    CU_ASSERT_EQUAL(json_object_get_boolean(it_get(r, "encuesta.anonima")), 1);
    it_free(r);
    /* votes: each voter sees counts and their own choice, never who voted */
    r = vote(&b, poll, it_fmt("[%lld,%lld]", o[0], o[1]));
    it_must(r, 200);
    assert_no_voters(r->body);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 1);
    CU_ASSERT_EQUAL(json_object_array_length(it_get(r, "encuesta.mis_votos")), 2);
    it_free(r);
    r = vote(&c, poll, it_fmt("[%lld]", o[0]));
    assert_no_voters(r->body);
    CU_ASSERT_EQUAL(opt_votes(r, 0), 2);
    CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"), 2);
    it_free(r);
    /* not even the admin-author, voting or closing */
    r = vote(&a, poll, "[]");
    it_must(r, 200);
    assert_no_voters(r->body);
    it_free(r);
    /* history and sync as each member sees them */
    const struct user *all[] = { &a, &b, &c };
    for (int i = 0; i < 3; i++) {
        r = it_req("GET", it_fmt("/chats/%lld/mensajes", chat), all[i]->tok, NULL);
        CU_ASSERT_EQUAL(r->status, 200);
        json_object *pm = find_msg(r, "mensajes", mid), *enc = NULL, *tv = NULL;
        CU_ASSERT(pm && json_object_object_get_ex(pm, "encuesta", &enc) && enc &&
                  json_object_object_get_ex(enc, "total_votantes", &tv) &&
                  json_object_get_int64(tv) == 2);
        assert_no_voters(r->body);
        it_free(r);
        if (cursor[0]) {
            r = it_req("POST", "/sync", all[i]->tok, it_fmt("{\"cursor\":\"%s\"}", cursor));
            it_must(r, 200);
            json_object *sm = find_msg(r, "mensajes", mid), *senc = NULL;
            CU_ASSERT(sm && json_object_object_get_ex(sm, "encuesta", &senc) && senc);
            assert_no_voters(r->body);
            it_free(r);
        }
        r = it_req("GET", it_fmt("/chats/%lld", chat), all[i]->tok, NULL);
        assert_no_voters(r->body);
        it_free(r);
        r = it_req("GET", "/chats", all[i]->tok, NULL);
        assert_no_voters(r->body);
        it_free(r);
    }
    r = it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), a.tok, NULL);
    it_must(r, 200);
    assert_no_voters(r->body);
    it_free(r);
    /* the events: no votantes anywhere, no user named on the rows */
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'encuesta:voto'"
                              " AND (payload->>'mensaje_id')::bigint = %lld", mid), 3);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE (payload->>'mensaje_id')::bigint = %lld"
                              " AND (payload::text LIKE '%%\"votantes\"%%' OR usuario_id IS NOT NULL"
                              "      OR payload->'encuesta' ? 'mis_votos')", mid), 0);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE (payload->>'id')::bigint = %lld"
                              " AND tipo LIKE 'mensaje:%%' AND payload::text LIKE '%%\"votantes\"%%'",
                              mid), 0);
    /* the same check sees voters on a poll that is not anonymous */
    long long o2[2];
    long long open_poll = poll_new(&a, chat, "{\"pregunta\":\"Abierta\",\"opciones\":[\"x\",\"y\"]}",
                                   o2, 2, &mid);
    r = vote(&b, open_poll, it_fmt("[%lld]", o2[0]));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->body, "\"votantes\""));
    it_free(r);
    CU_ASSERT_EQUAL(it_db_llf("SELECT count(*) FROM eventos WHERE (payload->>'mensaje_id')::bigint = %lld"
                              " AND payload::text LIKE '%%\"votantes\"%%' AND usuario_id = %lld", mid, b.id),
                    1);
    free(a.tok);
    free(b.tok);
    free(c.tok);
}

/* Few voters with many changes each, so one voter's changes overlap. */
#define NVOTERS 5
#define NJOBS 50
#define NSETS (NJOBS / NVOTERS)
#define NROUNDS 4

static void test_encuestas__concurrent_votes(void)
{
    struct user owner, v[NVOTERS];
    user_new(&owner, "pk_owner");
    const struct user *m[NVOTERS];
    for (int i = 0; i < NVOTERS; i++) {
        user_new(&v[i], "pk_v");
        m[i] = &v[i];
    }
    long long chat = group_new(&owner, m, NVOTERS, 0);
    long long o[4], s[4];
    long long multi = poll_new(&owner, chat, "{\"pregunta\":\"Carrera\",\"opciones\":[\"a\",\"b\","
                                             "\"c\",\"d\"],\"multiple\":true}", o, 4, NULL);
    long long single = poll_new(&owner, chat, "{\"pregunta\":\"Una\",\"opciones\":[\"a\",\"b\","
                                              "\"c\",\"d\"]}", s, 4, NULL);
    /* 50 changes on each poll: 10 per voter, different selections, at once */
    struct it_job jobs[2 * NJOBS];
    char paths[2][64], bodies[2 * NJOBS][160];
    snprintf(paths[0], sizeof(paths[0]), "/encuestas/%lld/voto", multi);
    snprintf(paths[1], sizeof(paths[1]), "/encuestas/%lld/voto", single);
    for (int j = 0; j < NJOBS; j++) {
        int u = j % NVOTERS, k = j / NVOTERS;
        /* multi: a rotating pair, or the empty set; single: one or none */
        if (k == NSETS - 1)
            snprintf(bodies[j], sizeof(bodies[j]), "{\"opciones\":[]}");
        else
            snprintf(bodies[j], sizeof(bodies[j]), "{\"opciones\":[%lld,%lld]}", o[(u + k) % 4],
                     o[(u + k + 1) % 4]);
        if (k == 3)
            snprintf(bodies[NJOBS + j], sizeof(bodies[0]), "{\"opciones\":[]}");
        else
            snprintf(bodies[NJOBS + j], sizeof(bodies[0]), "{\"opciones\":[%lld]}", s[(u + k) % 4]);
        jobs[j] = (struct it_job){ "PUT", paths[0], v[u].tok, bodies[j], 0, 0, NULL };
        jobs[NJOBS + j] = (struct it_job){ "PUT", paths[1], v[u].tok, bodies[NJOBS + j], 0, 0, NULL };
    }
    /* several rounds: without the lock a round shows a mixed or doubled
     * selection only now and then */
    for (int round = 0; round < NROUNDS; round++) {
        it_parallel(jobs, 2 * NJOBS);
        int ok = 0;
        for (int j = 0; j < 2 * NJOBS; j++) {
            ok += jobs[j].status == 200;
            if (jobs[j].status != 200)
                fprintf(stderr, "job %d: %ld %s\n", j, jobs[j].status, jobs[j].out ? jobs[j].out : "");
            free(jobs[j].out);
            jobs[j].out = NULL;
        }
        CU_ASSERT_EQUAL(ok, 2 * NJOBS);
        /* each voter's rows are exactly one of the sets they asked for */
        for (int u = 0; u < NVOTERS; u++) {
            for (int p = 0; p < 2; p++) {
                long long poll = p ? single : multi;
                long long got = it_db_llf("SELECT coalesce(sum(opcion_id * opcion_id), 0) FROM encuestas_votos"
                                          " WHERE encuesta_id = %lld AND usuario_id = %lld", poll, v[u].id);
                long long nrows = it_db_llf("SELECT count(*) FROM encuestas_votos"
                                            " WHERE encuesta_id = %lld AND usuario_id = %lld", poll, v[u].id);
                int match = 0;
                for (int k = 0; k < NSETS; k++) {
                    long long want = 0, wn = 0;
                    if (!p && k < NSETS - 1) {
                        want = o[(u + k) % 4] * o[(u + k) % 4] + o[(u + k + 1) % 4] * o[(u + k + 1) % 4];
                        wn = 2;
                    } else if (p && k != 3) {
                        want = s[(u + k) % 4] * s[(u + k) % 4];
                        wn = 1;
                    }
                    match |= got == want && nrows == wn;
                }
                CU_ASSERT(match);
                if (p)
                    CU_ASSERT(nrows <= 1);
            }
        }
    }
    /* the counts the API reports match the rows */
    for (int p = 0; p < 2; p++) {
        long long poll = p ? single : multi;
        const long long *ids = p ? s : o;
        struct it_resp *r = it_req("POST", it_fmt("/encuestas/%lld/cerrar", poll), owner.tok, NULL);
        it_must(r, 200);
        for (size_t i = 0; i < 4; i++) {
            CU_ASSERT_EQUAL(it_get_ll(r, it_fmt("encuesta.opciones.%zu.id", i)), ids[i]);
            CU_ASSERT_EQUAL(opt_votes(r, i),
                            it_db_llf("SELECT count(*) FROM encuestas_votos WHERE opcion_id = %lld",
                                      ids[i]));
            CU_ASSERT_EQUAL((long long)json_object_array_length(
                                it_get(r, it_fmt("encuesta.opciones.%zu.votantes", i))),
                            opt_votes(r, i));
        }
        CU_ASSERT_EQUAL(it_get_ll(r, "encuesta.total_votantes"),
                        it_db_llf("SELECT count(DISTINCT usuario_id) FROM encuestas_votos"
                                  " WHERE encuesta_id = %lld", poll));
        it_free(r);
        /* one event per change that changed something, none beyond */
        long long ev = it_db_llf("SELECT count(*) FROM eventos WHERE tipo = 'encuesta:voto'"
                                 " AND (payload->'encuesta'->>'id')::bigint = %lld", poll);
        CU_ASSERT(ev >= NVOTERS && ev <= NROUNDS * NJOBS + 1);
    }
    free(owner.tok);
    for (int i = 0; i < NVOTERS; i++)
        free(v[i].tok);
}

int main(void)
{
    it_init();
    static const struct cu_test tests[] = {
        { "create", test_encuestas__create },
        { "restricted_group", test_encuestas__restricted_group },
        { "single_choice", test_encuestas__single_choice },
        { "multiple_choice", test_encuestas__multiple_choice },
        { "close", test_encuestas__close },
        { "expiry", test_encuestas__expiry },
        { "anonymity", test_encuestas__anonymity },
        { "concurrent_votes", test_encuestas__concurrent_votes },
        { NULL, NULL },
    };
    return cu_run("encuestas", tests);
}
