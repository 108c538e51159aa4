/* media_store.c: the local-folder storage backend for media bytes. */
#include "domain/media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define MEDIA_KEY_HEX 32

/* 16 random bytes as 32 lowercase hex digits into out[33]. */
static int media_random_hex(char out[MEDIA_KEY_HEX + 1])
{
    unsigned char raw[MEDIA_KEY_HEX / 2];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[MEDIA_KEY_HEX] = '\0';
    return 0;
}

bool media_key_valid(const char *key)
{
    /* ab/cd/abcd<28 more hex> */
    if (!key || strlen(key) != 6 + MEDIA_KEY_HEX)
        return false;
    for (int i = 0; i < 6 + MEDIA_KEY_HEX; i++) {
        char c = key[i];
        bool slash = i == 2 || i == 5;
        if (slash ? c != '/' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return memcmp(key, key + 6, 2) == 0 && memcmp(key + 3, key + 8, 2) == 0;
}

/* mkdir that accepts an existing directory. */
static int media_mkdir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

/* Creates every missing folder of path (like mkdir -p). */
static int media_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (media_mkdir(buf) < 0)
            return -1;
        *p = '/';
    }
    return media_mkdir(buf);
}

static int media_local_tmp(struct media_store *s, struct arena *a, const char **path, int *fd,
                           struct err *e)
{
    char hex[MEDIA_KEY_HEX + 1];
    if (media_random_hex(hex) < 0) {
        log_error("event=media_tmp_failed reason=\"getrandom: %s\"", strerror(errno));
        return err_set(e, ERR_INTERNAL, NULL);
    }
    char *p = arena_printf(a, "%s/tmp/%s.part", s->root, hex);
    int f = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f < 0 && errno == ENOENT) {
        /* tmp/ removed under us (an operator's clean-up): make it again */
        char *dir = arena_printf(a, "%s/tmp", s->root);
        if (media_mkdirs(dir) == 0)
            f = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (f < 0) {
        log_error("event=media_tmp_failed path=%s reason=\"%s\"", p, strerror(errno));
        return err_set(e, ERR_INTERNAL, NULL);
    }
    *path = p;
    *fd = f;
    return 0;
}

static int media_local_put(struct media_store *s, struct arena *a, const char *tmp_path,
                           const char **key, struct err *e)
{
    /* A collision of 128 random bits does not happen; the loop is only
     * there so that link() never replaces a file even if it did. */
    for (int tries = 0; tries < 3; tries++) {
        char hex[MEDIA_KEY_HEX + 1];
        if (media_random_hex(hex) < 0)
            break;
        char *k = arena_printf(a, "%.2s/%.2s/%s", hex, hex + 2, hex);
        char *dir = arena_printf(a, "%s/%.2s/%.2s", s->root, hex, hex + 2);
        char *dst = arena_printf(a, "%s/%s", s->root, k);
        if (media_mkdirs(dir) < 0) {
            log_error("event=media_put_failed dir=%s reason=\"%s\"", dir, strerror(errno));
            return err_set(e, ERR_INTERNAL, NULL);
        }
        if (link(tmp_path, dst) == 0) {
            unlink(tmp_path);
            *key = k;
            return 0;
        }
        if (errno != EEXIST) {
            log_error("event=media_put_failed path=%s reason=\"%s\"", dst, strerror(errno));
            return err_set(e, ERR_INTERNAL, NULL);
        }
    }
    log_error("event=media_put_failed reason=\"no fresh key\"");
    return err_set(e, ERR_INTERNAL, NULL);
}

static const char *media_local_path(struct media_store *s, struct arena *a, const char *key)
{
    if (!media_key_valid(key))
        return NULL;
    return arena_printf(a, "%s/%s", s->root, key);
}

static int media_local_open(struct media_store *s, const char *key, int *fd, struct err *e)
{
    char p[PATH_MAX];
    if (!media_key_valid(key) || snprintf(p, sizeof(p), "%s/%s", s->root, key) >= (int)sizeof(p))
        return err_set(e, ERR_NOT_FOUND, NULL);
    int f = open(p, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return err_set(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_INTERNAL, NULL);
    *fd = f;
    return 0;
}

static int media_local_remove(struct media_store *s, const char *key, struct err *e)
{
    char p[PATH_MAX];
    if (!media_key_valid(key) || snprintf(p, sizeof(p), "%s/%s", s->root, key) >= (int)sizeof(p)) {
        log_error("event=media_remove_failed key=\"%s\" reason=\"malformed key\"", key);
        return err_set(e, ERR_INTERNAL, NULL);
    }
    if (unlink(p) < 0 && errno != ENOENT) {
        log_error("event=media_remove_failed path=%s reason=\"%s\"", p, strerror(errno));
        return err_set(e, ERR_INTERNAL, NULL);
    }
    /* empty fan-out folders go too (rmdir fails harmlessly when not empty) */
    char *slash = strrchr(p, '/');
    *slash = '\0';
    if (rmdir(p) == 0) {
        slash = strrchr(p, '/');
        *slash = '\0';
        rmdir(p);
    }
    return 0;
}

static int media_local_sweep(struct media_store *s, long max_age, long *removed, struct err *e)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/tmp", s->root);
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        log_error("event=media_sweep_failed dir=%s reason=\"%s\"", dir, strerror(errno));
        return err_set(e, ERR_INTERNAL, NULL);
    }
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".part") != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (now - st.st_mtime > max_age && unlinkat(dirfd(d), de->d_name, 0) == 0)
            (*removed)++;
    }
    closedir(d);
    return 0;
}

struct media_store *media_store_local(struct arena *a, const char *dir, struct err *e)
{
    char *tmp = arena_printf(a, "%s/tmp", dir);
    if (!dir[0] || media_mkdirs(tmp) < 0) {
        log_error("event=media_dir_failed dir=%s reason=\"%s\"", dir, strerror(errno));
        err_set(e, ERR_INTERNAL, NULL);
        return NULL;
    }
    /* An absolute media_dir is kept as written (symlinks unresolved), so
     * X-Sendfile paths stay under the XSendFilePath the operator wrote;
     * a relative one (the dev stack's default) is made absolute. */
    char real[PATH_MAX];
    if (dir[0] == '/' && strlen(dir) < sizeof(real)) {
        strcpy(real, dir);
        size_t n = strlen(real);
        while (n > 1 && real[n - 1] == '/')
            real[--n] = '\0';
    } else if (!realpath(dir, real)) {
        log_error("event=media_dir_failed dir=%s reason=\"%s\"", dir, strerror(errno));
        err_set(e, ERR_INTERNAL, NULL);
        return NULL;
    }
    struct media_store *s = arena_alloc(a, sizeof(*s));
    s->tmp = media_local_tmp;
    s->put = media_local_put;
    s->open = media_local_open;
    s->remove = media_local_remove;
    s->path = media_local_path;
    s->sweep = media_local_sweep;
    s->root = arena_strdup(a, real);
    return s;
}
