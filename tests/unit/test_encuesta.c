/* test_encuesta.c: the poll input rules (enc_new_check): question, 2..12
 * distinct options, cierra_at as ISO-8601 with zone and in the future; and
 * the announcement emoji rule (com_emoji_check). */
#include <string.h>

#include "domain/comunicado.h"
#include "cu.h"
#include "domain/encuesta.h"

/* 2026-11-20T15:04:05Z */
#define NOW 1795187045LL

static const char *const two[] = { "Sí", "No" };

static struct enc_new poll(const char *cierra_at)
{
    struct enc_new in = { 1, "¿Vamos?", two, 2, false, false, cierra_at, NULL };
    return in;
}

static int check(const struct enc_new *in)
{
    struct err e = { ERR_NONE, "" };
    int r = enc_new_check(in, NOW, &e);
    if (r < 0)
        CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    return r;
}

static void test_encuesta__cierra_at(void)
{
    static const char *const ok[] = {
        "2026-11-20T15:04:06Z", "2026-11-20T15:04:06.5Z", "2026-11-20T15:04:06.123456Z",
        "2026-11-20T16:04:06+01:00", "2026-11-20T10:04:06-05:00", "2030-02-28T00:00:00Z", NULL,
    };
    for (int i = 0; ok[i]; i++) {
        struct enc_new in = poll(ok[i]);
        CU_ASSERT_EQUAL(check(&in), 0);
    }
    static const char *const bad[] = {
        "2026-11-20T15:04:05Z",         /* now is not the future */
        "2026-11-20T16:04:05+01:00",    /* the same instant */
        "2026-11-20T10:04:04-05:00",
        "2020-01-01T00:00:00Z",
        "2030-01-01T00:00:00",          /* no zone */
        "2030-01-01 00:00:00Z",
        "2030-04-31T00:00:00Z",         /* no such day */
        "2030-13-01T00:00:00Z",
        "2030-01-01T24:00:00Z",
        "2030-01-01T00:00:00+1:00",
        "2030-01-01T00:00:00Zx",
        "2030-01-01T00:00:00.Z",
        "2030-01-01",
        "mañana",
        "",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        struct enc_new in = poll(bad[i]);
        CU_ASSERT_EQUAL(check(&in), -1);
    }
    struct enc_new none = poll(NULL);
    CU_ASSERT_EQUAL(check(&none), 0);
}

static void test_encuesta__options(void)
{
    const char *twelve[13] = { "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13" };
    struct enc_new in = poll(NULL);
    in.opciones = twelve;
    in.nopciones = 12;
    CU_ASSERT_EQUAL(check(&in), 0);
    in.nopciones = 13;
    CU_ASSERT_EQUAL(check(&in), -1);
    in.nopciones = 1;
    CU_ASSERT_EQUAL(check(&in), -1);
    in.nopciones = 0;
    CU_ASSERT_EQUAL(check(&in), -1);

    char long_opt[202];
    memset(long_opt, 'x', 201);
    long_opt[201] = '\0';
    const char *pairs[][2] = {
        { "Rojo", "rojo" }, { "Rojo", " Rojo  " }, { "a", "" }, { "a", "   " },
        { "a", long_opt }, { "a", "b\x01" }, { "a", "\xff" },
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        in.opciones = pairs[i];
        in.nopciones = 2;
        CU_ASSERT_EQUAL(check(&in), -1);
    }
    long_opt[200] = '\0';   /* exactly 200 characters */
    const char *fine[] = { "a", long_opt };
    in.opciones = fine;
    CU_ASSERT_EQUAL(check(&in), 0);
}

static void test_encuesta__question_and_client_id(void)
{
    struct enc_new in = poll(NULL);
    in.pregunta = NULL;
    CU_ASSERT_EQUAL(check(&in), -1);
    in.pregunta = " \n ";
    CU_ASSERT_EQUAL(check(&in), -1);
    in.pregunta = "¿Ok?";
    in.client_id = "";
    CU_ASSERT_EQUAL(check(&in), -1);
    in.client_id = "c-1";
    CU_ASSERT_EQUAL(check(&in), 0);
}

static void test_encuesta__comunicado_emoji(void)
{
    struct err e;
    CU_ASSERT_EQUAL(com_emoji_check("\xf0\x9f\x91\x8d", &e), 0);
    CU_ASSERT_EQUAL(com_emoji_check("ok", &e), 0);
    static const char *const bad[] = { "", "a b", "\t", "123456789012345678901234567890123",
                                       "\xff", NULL };
    for (int i = 0; bad[i]; i++) {
        e.code = ERR_NONE;
        CU_ASSERT_EQUAL(com_emoji_check(bad[i], &e), -1);
        CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    }
    CU_ASSERT_EQUAL(com_emoji_check(NULL, &e), -1);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "cierra_at", test_encuesta__cierra_at },
        { "options", test_encuesta__options },
        { "question_and_client_id", test_encuesta__question_and_client_id },
        { "comunicado_emoji", test_encuesta__comunicado_emoji },
        { NULL, NULL },
    };
    return cu_run("encuesta", tests);
}
