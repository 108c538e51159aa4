/* test_err.c: the error table (API.md's codes and statuses) and err_set. */
#include <string.h>

#include "cu.h"
#include "core/err.h"

static void test_err__table(void)
{
    static const struct { enum err_code c; int status; const char *codigo; } v[] = {
        { ERR_INVALID, 400, "solicitud_invalida" },
        { ERR_TOKEN, 401, "token_invalido" },
        { ERR_DEACTIVATED, 403, "usuario_desactivado" },
        { ERR_FORBIDDEN, 403, "prohibido" },
        { ERR_NOT_FOUND, 404, "no_encontrado" },
        { ERR_CONFLICT, 409, "conflicto" },
        { ERR_TOO_BIG, 413, "demasiado_grande" },
        { ERR_MEDIA_TYPE, 415, "tipo_no_permitido" },
        { ERR_RATE, 429, "limite_excedido" },
        { ERR_INTERNAL, 500, "error_interno" },
        { ERR_UNAVAILABLE, 503, "error_interno" },
        { ERR_ORIGIN, 403, "origen_no_permitido" },
    };
    CU_ASSERT_EQUAL(sizeof(v) / sizeof(v[0]), ERR__COUNT - 1);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CU_ASSERT_EQUAL(err_status(v[i].c), v[i].status);
        CU_ASSERT_STRING_EQUAL(err_codigo(v[i].c), v[i].codigo);
        CU_ASSERT(strlen(err_default_msg(v[i].c)) > 0);
    }
}

static void test_err__out_of_range(void)
{
    /* a code outside the table is an internal error, never a crash */
    CU_ASSERT_EQUAL(err_status((enum err_code)ERR__COUNT), 500);
    CU_ASSERT_EQUAL(err_status((enum err_code)-1), 500);
    CU_ASSERT_STRING_EQUAL(err_codigo((enum err_code)99), "error_interno");
    CU_ASSERT_STRING_EQUAL(err_default_msg((enum err_code)99), "Error interno");
}

static void test_err__set(void)
{
    struct err e = { 0 };
    CU_ASSERT_EQUAL(err_set(&e, ERR_INVALID, "%s debe ser %d", "limite", 5), -1);
    CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(e.msg, "limite debe ser 5");
    /* no format: the code's default message */
    CU_ASSERT_EQUAL(err_set(&e, ERR_NOT_FOUND, NULL), -1);
    CU_ASSERT_EQUAL(e.code, ERR_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(e.msg, err_default_msg(ERR_NOT_FOUND));
    /* NULL e is accepted */
    CU_ASSERT_EQUAL(err_set(NULL, ERR_INTERNAL, "x"), -1);
    /* a long message is cut to the buffer, terminated */
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    err_set(&e, ERR_INVALID, "%s", big);
    CU_ASSERT_EQUAL(strlen(e.msg), sizeof(e.msg) - 1);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "table", test_err__table },
        { "out_of_range", test_err__out_of_range },
        { "set", test_err__set },
        { NULL, NULL },
    };
    return cu_run("err", tests);
}
