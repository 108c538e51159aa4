/* test_media.c: media names, Content-Disposition, storage keys, the local
 * store, and type sniffing on hostile bytes (run under ASan by make test). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "domain/media.h"

static struct arena *a;

static const struct media_kind png = { "image/png", "imagen", "png", 1, 1, -1 };
static const struct media_kind pdf = { "application/pdf", "documento", "pdf", 0, 0, -1 };

static void test_media__clean_name(void)
{
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "foto.png", &png), "foto.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "FOTO.PNG", &png), "FOTO.PNG");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "foto.jpg", &png), "foto.jpg.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "/etc/passwd", &png), "passwd.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "..\\..\\win.ini", &png), "win.ini.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "a\r\nb\t.png", &png), "ab.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, ".htaccess", &png), "htaccess.png");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "informe. . .", &pdf), "informe.pdf");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "", &pdf), "archivo.pdf");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, NULL, &pdf), "archivo.pdf");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "dir/", &pdf), "archivo.pdf");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "Año \xC3\xB1.pdf", &pdf), "Año ñ.pdf");
    /* invalid UTF-8 becomes '_'; overlong '/' too */
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "a\xFF" "b.pdf", &pdf), "a_b.pdf");
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "a\xC0\xAF" "b.pdf", &pdf), "a__b.pdf");
    /* bidi override and zero-width marks are dropped */
    CU_ASSERT_STRING_EQUAL(media_clean_name(a, "x\xE2\x80\xAEgnp.exe", &png), "xgnp.exe.png");
    /* cut to 150 bytes at a character boundary, extension kept */
    char lng[600] = "";
    for (int i = 0; i < 100; i++)
        strcat(lng, "\xC3\xB1");        /* 200 bytes of 'ñ' */
    strcat(lng, ".pdf");
    const char *n = media_clean_name(a, lng, &pdf);
    CU_ASSERT(strlen(n) <= 150);
    CU_ASSERT_STRING_EQUAL(n + strlen(n) - 4, ".pdf");
    CU_ASSERT_EQUAL((strlen(n) - 4) % 2, 0);
    arena_reset(a);
}

static void test_media__disposition(void)
{
    CU_ASSERT_STRING_EQUAL(media_disposition(a, "image/png", "a b.png"),
                           "inline; filename=\"a b.png\"; filename*=UTF-8''a%20b.png");
    CU_ASSERT_STRING_EQUAL(media_disposition(a, "video/mp4", "v.mp4"),
                           "inline; filename=\"v.mp4\"; filename*=UTF-8''v.mp4");
    CU_ASSERT_STRING_EQUAL(media_disposition(a, "application/pdf", "x\"y\\z%.pdf"),
                           "attachment; filename=\"x_y_z_.pdf\"; "
                           "filename*=UTF-8''x%22y%5Cz%25.pdf");
    CU_ASSERT_STRING_EQUAL(media_disposition(a, "application/msword", "año.doc"),
                           "attachment; filename=\"a_o.doc\"; filename*=UTF-8''a%C3%B1o.doc");
    arena_reset(a);
}

static void test_media__keys(void)
{
    CU_ASSERT(media_key_valid("ab/cd/abcd0123456789abcdef0123456789ef"));
    CU_ASSERT(!media_key_valid("ab/cd/abce0123456789abcdef0123456789ef"));  /* fan-out mismatch */
    CU_ASSERT(!media_key_valid("../cd/..cd0123456789abcdef0123456789ef"));
    CU_ASSERT(!media_key_valid("AB/CD/ABCD0123456789ABCDEF0123456789EF"));
    CU_ASSERT(!media_key_valid("ab/cd/abcd0123456789abcdef0123456789e"));
    CU_ASSERT(!media_key_valid(""));
    CU_ASSERT(!media_key_valid(NULL));
    CU_ASSERT_STRING_EQUAL(media_tipo("image/webp"), "imagen");
    CU_ASSERT_STRING_EQUAL(media_tipo("audio/ogg"), "audio");
    CU_ASSERT_STRING_EQUAL(media_tipo("video/webm"), "video");
    CU_ASSERT_STRING_EQUAL(media_tipo("application/pdf"), "documento");
}

static void test_media__local_store(void)
{
    char dir[] = "/tmp/test_media.XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    struct err e = { 0 };
    char *root = arena_printf(a, "%s/media", dir);
    struct media_store *s = media_store_local(a, root, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *tmp, *key, *key2;
    int fd;
    CU_ASSERT_EQUAL(s->tmp(s, a, &tmp, &fd, &e), 0);
    CU_ASSERT_EQUAL(write(fd, "hola", 4), 4);
    close(fd);
    CU_ASSERT_EQUAL(s->put(s, a, tmp, &key, &e), 0);
    CU_ASSERT(media_key_valid(key));
    CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
    CU_ASSERT_EQUAL(s->open(s, key, &fd, &e), 0);
    char buf[8] = "";
    CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 4);
    CU_ASSERT_STRING_EQUAL(buf, "hola");
    close(fd);
    CU_ASSERT_STRING_EQUAL(s->path(s, a, key), arena_printf(a, "%s/%s", s->root, key));
    CU_ASSERT_PTR_NULL(s->path(s, a, "../../etc/passwd"));
    /* two uploads never share a key */
    CU_ASSERT_EQUAL(s->tmp(s, a, &tmp, &fd, &e), 0);
    close(fd);
    CU_ASSERT_EQUAL(s->put(s, a, tmp, &key2, &e), 0);
    CU_ASSERT(strcmp(key, key2) != 0);
    CU_ASSERT_EQUAL(s->remove(s, key, &e), 0);
    CU_ASSERT_EQUAL(s->open(s, key, &fd, &e), -1);
    CU_ASSERT_EQUAL(e.code, ERR_NOT_FOUND);
    CU_ASSERT_EQUAL(s->remove(s, key, &e), 0);     /* already gone: fine */
    CU_ASSERT_EQUAL(s->remove(s, "../x", &e), -1);
    CU_ASSERT_EQUAL(s->remove(s, key2, &e), 0);
    /* sweep: only old .part files go */
    long removed = 0;
    CU_ASSERT_EQUAL(s->tmp(s, a, &tmp, &fd, &e), 0);
    close(fd);
    CU_ASSERT_EQUAL(s->sweep(s, 3600, &removed, &e), 0);
    CU_ASSERT_EQUAL(removed, 0);
    CU_ASSERT_EQUAL(s->sweep(s, -1, &removed, &e), 0);
    CU_ASSERT_EQUAL(removed, 1);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    arena_reset(a);
}

/* Sniffs n bytes written to a temporary file. */
static int sniff_bytes(const void *p, size_t n, const char *ctype, const char *name,
                       struct media_kind *k, struct err *e)
{
    char path[] = "/tmp/test_media_sniff.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -2;
    unlink(path);
    if (n && write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return -2;
    }
    int rc = media_sniff(fd, (long long)n, ctype, name, k, e);
    close(fd);
    return rc;
}

static void test_media__sniff_basics(void)
{
    struct media_kind k;
    struct err e = { 0 };
    CU_ASSERT_EQUAL(sniff_bytes("%PDF-1.7\n", 9, NULL, NULL, &k, &e), 0);
    CU_ASSERT_STRING_EQUAL(k.mime, "application/pdf");
    CU_ASSERT_STRING_EQUAL(k.tipo, "documento");
    CU_ASSERT_EQUAL(sniff_bytes("GIF89a\x02\x00\x03\x00\x00", 11, NULL, NULL, &k, &e), 0);
    CU_ASSERT_EQUAL(k.ancho, 2);
    CU_ASSERT_EQUAL(k.alto, 3);
    /* a GIF that claims 0x0 has no size */
    CU_ASSERT_EQUAL(sniff_bytes("GIF89a\x00\x00\x00\x00\x00", 11, NULL, NULL, &k, &e), 0);
    CU_ASSERT_EQUAL(k.ancho, 0);
    static const char *const refused[] = { "", "\x7F" "ELF", "MZ", "#!/bin/sh\n", "<?php",
                                           "PK\x03\x04", "{\"a\":1}", "\xFF\xFE" "a\0", NULL };
    for (int i = 0; refused[i]; i++) {
        e.code = ERR_NONE;
        CU_ASSERT_EQUAL(sniff_bytes(refused[i], strlen(refused[i]), "image/png", "x.png", &k, &e), -1);
        CU_ASSERT_EQUAL(e.code, ERR_MEDIA_TYPE);
    }
}

/* Truncated and random tails after every magic number: nothing may read
 * out of bounds (ASan) or loop; any answer is fine. */
static void test_media__sniff_hostile(void)
{
    static const struct { const char *p; size_t n; } magics[] = {
        { "\xFF\xD8\xFF", 3 }, { "\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR", 16 },
        { "RIFF\0\0\0\0WEBPVP8 ", 16 }, { "RIFF\0\0\0\0WEBPVP8L", 16 },
        { "RIFF\0\0\0\0WEBPVP8X", 16 }, { "\0\0\0\x18" "ftypisom", 12 },
        { "\0\0\0\x01" "ftypM4A ", 12 }, { "\x1A\x45\xDF\xA3", 4 }, { "OggS", 4 },
        { "ID3\x03", 4 }, { "PK\x03\x04", 4 }, { "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8 },
        { "GIF89a", 6 },
    };
    unsigned seed = 12345;
    unsigned char *buf = malloc(70000);
    for (size_t m = 0; m < sizeof(magics) / sizeof(magics[0]); m++) {
        for (int round = 0; round < 40; round++) {
            size_t n = magics[m].n + (size_t)(round < 20 ? round : rand_r(&seed) % 69000);
            memcpy(buf, magics[m].p, magics[m].n);
            for (size_t i = magics[m].n; i < n; i++)
                buf[i] = (unsigned char)(round % 3 == 0 ? 0xFF : rand_r(&seed));
            struct media_kind k;
            struct err e = { 0 };
            int rc = sniff_bytes(buf, n, NULL, "x.doc", &k, &e);
            CU_ASSERT(rc == 0 || rc == -1);
            if (rc == 0)
                CU_ASSERT(k.ancho >= 0 && k.alto >= 0);
        }
    }
    free(buf);
}

int main(void)
{
    a = arena_new();
    static const struct cu_test tests[] = {
        { "clean_name", test_media__clean_name },
        { "disposition", test_media__disposition },
        { "keys", test_media__keys },
        { "local_store", test_media__local_store },
        { "sniff_basics", test_media__sniff_basics },
        { "sniff_hostile", test_media__sniff_hostile },
        { NULL, NULL },
    };
    int rc = cu_run("media", tests);
    arena_free(a);
    return rc;
}
