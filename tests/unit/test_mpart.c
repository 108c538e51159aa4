/* test_mpart.c: the streaming multipart parser: boundaries, file names,
 * framing errors, and every way a body can be cut into reads. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "wire/mpart.h"

/* Feeds the body in reads of at most `chunk` bytes. */
struct src {
    const char *p;
    size_t n, off, chunk;
};

static long src_read(void *ud, char *buf, size_t n)
{
    struct src *s = ud;
    size_t k = s->n - s->off;
    if (k > n)
        k = n;
    if (k > s->chunk)
        k = s->chunk;
    memcpy(buf, s->p + s->off, k);
    s->off += k;
    return (long)k;
}

/* What the sink saw: parts as "name|filename|ctype|data;" */
struct seen {
    char log[8192];
    size_t n;
    int begins, ends;
    size_t limit;               /* data bytes after which data() fails */
    size_t data;
};

static void seen_add(struct seen *s, const char *p, size_t n)
{
    if (s->n + n < sizeof(s->log)) {
        memcpy(s->log + s->n, p, n);
        s->n += n;
        s->log[s->n] = '\0';
    }
}

static int s_begin(void *ud, const struct mpart_part *p, struct err *e)
{
    (void)e;
    struct seen *s = ud;
    s->begins++;
    seen_add(s, p->name, strlen(p->name));
    seen_add(s, "|", 1);
    seen_add(s, p->has_filename ? p->filename : "-", strlen(p->has_filename ? p->filename : "-"));
    seen_add(s, "|", 1);
    seen_add(s, p->ctype, strlen(p->ctype));
    seen_add(s, "|", 1);
    return 0;
}

static int s_data(void *ud, const char *buf, size_t n, struct err *e)
{
    struct seen *s = ud;
    s->data += n;
    if (s->limit && s->data > s->limit)
        return err_set(e, ERR_TOO_BIG, "demasiado");
    seen_add(s, buf, n);
    return 0;
}

static int s_end(void *ud, struct err *e)
{
    (void)e;
    struct seen *s = ud;
    s->ends++;
    seen_add(s, ";", 1);
    return 0;
}

static int parse(const char *body, size_t n, size_t chunk, struct seen *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    struct src src = { body, n, 0, chunk };
    struct mpart_sink sink = { s_begin, s_data, s_end, s };
    return mpart_parse("AaB03x", src_read, &src, &sink, e);
}

static const char form[] =
    "ignored preamble\r\n"
    "--AaB03x\r\n"
    "Content-Disposition: form-data; name=\"nota\"\r\n"
    "\r\n"
    "hola\r\n"
    "--AaB03x\r\n"
    "content-disposition: form-data; name=\"archivo\"; filename=\"a\\\"b.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line1\r\n--AaB03 not yet\r\n\rx--AaB03x-- still data\r\n"
    "--AaB03x\r\n"
    "Content-Disposition: form-data; name=\"vacio\"\r\n"
    "\r\n"
    "\r\n"
    "--AaB03x--\r\n"
    "epilogue";

static const char expect[] =
    "nota|-||hola;"
    "archivo|a\"b.txt|text/plain|line1\r\n--AaB03 not yet\r\n\rx--AaB03x-- still data;"
    "vacio|-||;";

static void test_mpart__every_chunking(void)
{
    /* the same parts whatever the size of each read */
    size_t chunks[] = { 1, 2, 3, 5, 7, 11, 64, 100000 };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct seen s;
        struct err e = { 0 };
        CU_ASSERT_EQUAL(parse(form, sizeof(form) - 1, chunks[i], &s, &e), 0);
        CU_ASSERT_STRING_EQUAL(s.log, expect);
        CU_ASSERT_EQUAL(s.begins, 3);
        CU_ASSERT_EQUAL(s.ends, 3);
    }
}

static void test_mpart__no_preamble_no_headers(void)
{
    static const char body[] = "--AaB03x\r\n\r\nsin encabezados\r\n--AaB03x--";
    struct seen s;
    struct err e = { 0 };
    CU_ASSERT_EQUAL(parse(body, sizeof(body) - 1, 4, &s, &e), 0);
    CU_ASSERT_STRING_EQUAL(s.log, "|-||sin encabezados;");
}

static void test_mpart__big_part_streams(void)
{
    /* 1 MiB of data crosses many buffer refills */
    size_t n = 1 << 20;
    const char *head = "--AaB03x\r\nContent-Disposition: form-data; name=\"archivo\"; "
                       "filename=\"x.bin\"\r\n\r\n";
    const char *tail = "\r\n--AaB03x--\r\n";
    size_t hl = strlen(head), tl = strlen(tail);
    char *body = malloc(hl + n + tl);
    memcpy(body, head, hl);
    for (size_t i = 0; i < n; i++)
        body[hl + i] = (char)("\r\n-AaB03x"[i % 9]);  /* near-delimiters everywhere */
    memcpy(body + hl + n, tail, tl);
    struct seen s;
    struct err e = { 0 };
    CU_ASSERT_EQUAL(parse(body, hl + n + tl, 70000, &s, &e), 0);
    CU_ASSERT_EQUAL(s.data, n);
    /* the sink can stop it (the size limit) */
    memset(&s, 0, sizeof(s));
    s.limit = 1000;
    struct src src = { body, hl + n + tl, 0, 4096 };
    struct mpart_sink sink = { s_begin, s_data, s_end, &s };
    CU_ASSERT_EQUAL(mpart_parse("AaB03x", src_read, &src, &sink, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_TOO_BIG);
    CU_ASSERT_EQUAL(s.begins, s.ends);
    free(body);
}

static void test_mpart__truncated(void)
{
    /* every prefix of a good body short of its closing delimiter fails */
    size_t full = sizeof(form) - 1 - strlen("--\r\nepilogue");
    for (size_t cut = 0; cut < full; cut++) {
        struct seen s;
        struct err e = { 0 };
        int rc = parse(form, cut, 3, &s, &e);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(e.code, ERR_INVALID);
        CU_ASSERT_EQUAL(s.begins, s.ends);
    }
    static const char *bad[] = {
        "",
        "no delimiter at all",
        "--AaB03x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nsin final",
        "--AaB03x\r\nContent-Disposition: form-data; name=\"a\"",
        "--AaB03xjunk\r\n\r\nx\r\n--AaB03x--",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        struct seen s;
        struct err e = { 0 };
        CU_ASSERT_EQUAL(parse(bad[i], strlen(bad[i]), 5, &s, &e), -1);
        CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    }
}

static void test_mpart__header_limit(void)
{
    size_t n = 20000;
    char *body = malloc(n + 64);
    strcpy(body, "--AaB03x\r\nX-Long: ");
    size_t l = strlen(body);
    memset(body + l, 'a', n);
    strcpy(body + l + n, "\r\n\r\nx\r\n--AaB03x--");
    struct seen s;
    struct err e = { 0 };
    CU_ASSERT_EQUAL(parse(body, strlen(body), 1000, &s, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_INVALID);
    CU_ASSERT_EQUAL(s.begins, 0);
    free(body);
}

static void test_mpart__filename_forms(void)
{
    static const char body[] =
        "--AaB03x\r\n"
        "Content-Disposition: form-data; name=archivo; filename=\"plain.txt\"; "
        "filename*=UTF-8''a%C3%B1o%20nuevo.txt\r\n\r\nx\r\n"
        "--AaB03x\r\n"
        "Content-Disposition: form-data; name=\"b\"; filename=\"C:\\dir\\f.txt\"\r\n\r\ny\r\n"
        "--AaB03x--";
    struct seen s;
    struct err e = { 0 };
    CU_ASSERT_EQUAL(parse(body, sizeof(body) - 1, 9, &s, &e), 0);
    CU_ASSERT_STRING_EQUAL(s.log, "archivo|año nuevo.txt||x;b|C:\\dir\\f.txt||y;");
}

static void test_mpart__boundary(void)
{
    char b[MPART_BOUNDARY_MAX + 1];
    CU_ASSERT_EQUAL(mpart_boundary("multipart/form-data; boundary=abc", b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "abc");
    CU_ASSERT_EQUAL(mpart_boundary("Multipart/Form-Data;charset=utf-8;BOUNDARY=\"a b;c\"", b,
                                   sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "a b;c");
    CU_ASSERT_EQUAL(mpart_boundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk",
                                   b, sizeof(b)), 0);
    CU_ASSERT_STRING_EQUAL(b, "----WebKitFormBoundary7MA4YWxk");
    CU_ASSERT_EQUAL(mpart_boundary(NULL, b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(mpart_boundary("application/json", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(mpart_boundary("multipart/form-data", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(mpart_boundary("multipart/form-data; boundary=", b, sizeof(b)), -1);
    CU_ASSERT_EQUAL(mpart_boundary("multipart/mixed; boundary=abc", b, sizeof(b)), -1);
    char lng[200] = "multipart/form-data; boundary=";
    memset(lng + strlen(lng), 'x', 71);
    CU_ASSERT_EQUAL(mpart_boundary(lng, b, sizeof(b)), -1);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "every_chunking", test_mpart__every_chunking },
        { "no_preamble_no_headers", test_mpart__no_preamble_no_headers },
        { "big_part_streams", test_mpart__big_part_streams },
        { "truncated", test_mpart__truncated },
        { "header_limit", test_mpart__header_limit },
        { "filename_forms", test_mpart__filename_forms },
        { "boundary", test_mpart__boundary },
        { NULL, NULL },
    };
    return cu_run("mpart", tests);
}
