/* test_zipw.c: the streaming ZIP writer, checked against Info-ZIP's unzip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "../../fcgi/zipw.c"

static int to_file(void *ctx, const char *buf, size_t len)
{
    return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

static void test_zipw__crc32(void)
{
    CU_ASSERT_EQUAL(zipw_crc32(0, "123456789", 9), 0xCBF43926u);
    CU_ASSERT_EQUAL(zipw_crc32(0, "", 0), 0u);
    /* continuing in pieces gives the same */
    CU_ASSERT_EQUAL(zipw_crc32(zipw_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

static int run(const char *cmd)
{
    return system(cmd);
}

static void test_zipw__entries_read_back(void)
{
    char path[] = "/tmp/zipw-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    struct zipw z;
    zipw_init(&z, to_file, f);
    CU_ASSERT_EQUAL(zipw_begin(&z, "registros.ndjson", true), 0);
    for (int i = 0; i < 1000; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
        CU_ASSERT_EQUAL(zipw_data(&z, line, (size_t)n), 0);
    }
    CU_ASSERT_EQUAL(zipw_end(&z), 0);
    CU_ASSERT_EQUAL(zipw_begin(&z, "media/1_ñandú.txt", false), 0);
    CU_ASSERT_EQUAL(zipw_data(&z, "hola\n", 5), 0);
    CU_ASSERT_EQUAL(zipw_end(&z), 0);
    CU_ASSERT_EQUAL(zipw_begin(&z, "vacío", false), 0);
    CU_ASSERT_EQUAL(zipw_end(&z), 0);
    /* misuse is refused */
    CU_ASSERT_EQUAL(zipw_data(&z, "x", 1), -1);
    CU_ASSERT_EQUAL(zipw_end(&z), -1);
    CU_ASSERT_EQUAL(zipw_finish(&z), 0);
    zipw_release(&z);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "unzip -tq %s >/dev/null", path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "test \"$(unzip -p %s registros.ndjson | wc -l)\" = 1000", path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "test \"$(unzip -p %s 'media/1_*.txt')\" = hola", path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "test \"$(unzip -Z1 %s | wc -l)\" = 3", path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    unlink(path);
}

/* More than 65,535 entries needs the ZIP64 end records. */
static void test_zipw__zip64_many_entries(void)
{
    char path[] = "/tmp/zipw-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    struct zipw z;
    zipw_init(&z, to_file, f);
    int n = 70000, ok = 1;
    for (int i = 0; i < n && ok; i++) {
        char name[32];
        snprintf(name, sizeof(name), "d/%d", i);
        ok = zipw_begin(&z, name, false) == 0 && zipw_data(&z, "x", 1) == 0 && zipw_end(&z) == 0;
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(zipw_finish(&z), 0);
    zipw_release(&z);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "test \"$(unzip -Z1 %s | wc -l)\" = %d", path, n);
    CU_ASSERT_EQUAL(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "test \"$(unzip -p %s d/69999)\" = x", path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    unlink(path);
}

/* A reader that goes away fails every later call. */
static int fail_after(void *ctx, const char *buf, size_t len)
{
    (void)buf;
    size_t *left = ctx;
    if (*left < len)
        return -1;
    *left -= len;
    return 0;
}

static void test_zipw__reader_gone(void)
{
    size_t left = 40;
    struct zipw z;
    zipw_init(&z, fail_after, &left);
    CU_ASSERT_EQUAL(zipw_begin(&z, "a", false), 0);
    CU_ASSERT_EQUAL(zipw_data(&z, "0123456789abcdef", 16), -1);
    CU_ASSERT_TRUE(z.failed);
    CU_ASSERT_EQUAL(zipw_end(&z), -1);
    CU_ASSERT_EQUAL(zipw_finish(&z), -1);
    zipw_release(&z);
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "crc32", test_zipw__crc32 },
        { "entries_read_back", test_zipw__entries_read_back },
        { "zip64_many_entries", test_zipw__zip64_many_entries },
        { "reader_gone", test_zipw__reader_gone },
        { NULL, NULL },
    };
    return cu_run("zipw", tests);
}
