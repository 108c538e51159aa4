/* test_sio.c: Engine.IO / Socket.IO packet parsing. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "wire/sio.h"

static int parse(const char *s, struct sio_packet *p)
{
    const char *why = NULL;
    return sio_parse(s, strlen(s), p, &why);
}

static void test_sio__engine_packets(void)
{
    struct sio_packet p;
    CU_ASSERT_EQUAL(parse("3", &p), 0);
    CU_ASSERT_EQUAL(p.eio, SIO_EIO_PONG);
    CU_ASSERT_EQUAL(p.type, -1);
    CU_ASSERT_EQUAL(parse("2probe", &p), 0);
    CU_ASSERT_EQUAL(p.eio, SIO_EIO_PING);
    CU_ASSERT_EQUAL(p.data_len, 5);
    CU_ASSERT_EQUAL(parse("1", &p), 0);
    CU_ASSERT_EQUAL(parse("6", &p), 0);
    CU_ASSERT_EQUAL(parse("", &p), -1);
    CU_ASSERT_EQUAL(parse("7", &p), -1);
    CU_ASSERT_EQUAL(parse("x", &p), -1);
    CU_ASSERT_EQUAL(parse("b4AAA", &p), -1);
}

static void test_sio__socket_packets(void)
{
    struct sio_packet p;
    CU_ASSERT_EQUAL(parse("40", &p), 0);
    CU_ASSERT_EQUAL(p.type, SIO_CONNECT);
    CU_ASSERT_TRUE(sio_nsp_main(&p));
    CU_ASSERT_EQUAL(p.data_len, 0);
    CU_ASSERT_EQUAL(parse("40{\"token\":\"abc\"}", &p), 0);
    CU_ASSERT_EQUAL(p.data_len, 15);
    CU_ASSERT_EQUAL(parse("41", &p), 0);
    CU_ASSERT_EQUAL(p.type, SIO_DISCONNECT);
    CU_ASSERT_EQUAL(parse("42[\"a\",{}]", &p), 0);
    CU_ASSERT_EQUAL(p.type, SIO_EVENT);
    CU_ASSERT_EQUAL(p.ack, -1);
    CU_ASSERT_EQUAL(parse("4217[\"a\"]", &p), 0);
    CU_ASSERT_EQUAL(p.ack, 17);
    CU_ASSERT_EQUAL(p.data[0], '[');
    CU_ASSERT_EQUAL(parse("42/admin,3[\"a\"]", &p), 0);
    CU_ASSERT_FALSE(sio_nsp_main(&p));
    CU_ASSERT_EQUAL(p.nsp_len, 6);
    CU_ASSERT_EQUAL(p.ack, 3);
    CU_ASSERT_EQUAL(parse("41/admin", &p), 0);
    CU_ASSERT_EQUAL(p.nsp_len, 6);
    CU_ASSERT_EQUAL(parse("4", &p), -1);
    CU_ASSERT_EQUAL(parse("49", &p), -1);
    CU_ASSERT_EQUAL(parse("451-[\"a\",{\"_placeholder\":true,\"num\":0}]", &p), -1);
    CU_ASSERT_EQUAL(parse("42hello", &p), -1);
    CU_ASSERT_EQUAL(parse("421234567890123456[\"a\"]", &p), -1);
}

static void test_sio__event_data(void)
{
    json_object *arr, *arg;
    const char *name, *why;
    const char *ok = "[\"chat:typing\",{\"chat_id\":3}]";
    CU_ASSERT_EQUAL_FATAL(sio_event_parse(ok, strlen(ok), &arr, &name, &arg, &why), 0);
    CU_ASSERT_STRING_EQUAL(name, "chat:typing");
    CU_ASSERT_PTR_NOT_NULL(arg);
    json_object_put(arr);
    CU_ASSERT_EQUAL(sio_event_parse("[\"x\"]", 5, &arr, &name, &arg, &why), 0);
    CU_ASSERT_PTR_NULL(arg);
    json_object_put(arr);
    static const char *bad[] = { "[]", "[1]", "{}", "[\"a\"", "[\"a\"]x", "[\"a\"][]", NULL };
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(sio_event_parse(bad[i], strlen(bad[i]), &arr, &name, &arg, &why), -1);
    char deep[100];
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    CU_ASSERT_EQUAL(sio_event_parse(deep, strlen(deep), &arr, &name, &arg, &why), -1);
}

static void test_sio__connect_data(void)
{
    char *tok;
    const char *why;
    CU_ASSERT_EQUAL(sio_connect_parse("", 0, &tok, &why), 0);
    CU_ASSERT_PTR_NULL(tok);
    const char *s = "{\"token\":\"a.b.c\"}";
    CU_ASSERT_EQUAL(sio_connect_parse(s, strlen(s), &tok, &why), 0);
    CU_ASSERT_STRING_EQUAL(tok, "a.b.c");
    free(tok);
    s = "{\"token\":5}";
    CU_ASSERT_EQUAL(sio_connect_parse(s, strlen(s), &tok, &why), 0);
    CU_ASSERT_PTR_NULL(tok);
    s = "[\"token\"]";
    CU_ASSERT_EQUAL(sio_connect_parse(s, strlen(s), &tok, &why), -1);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "test_sio__engine_packets", test_sio__engine_packets },
        { "test_sio__socket_packets", test_sio__socket_packets },
        { "test_sio__event_data", test_sio__event_data },
        { "test_sio__connect_data", test_sio__connect_data },
        { NULL, NULL },
    };
    return cu_run("sio", tests);
}
