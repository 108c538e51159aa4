/* app.c: program start-up shared by chat-fcgi, chat-rtd and chat-cron. */
#include "core/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/migrate.h"

struct cfg *app_config(const char *prog, int *argc, char **argv)
{
    const char *path = NULL;
    int w = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "%s: --config needs a file\n", prog);
                exit(2);
            }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            argv[w++] = argv[i];
        }
    }
    *argc = w;
    argv[w] = NULL;
    char why[512];
    const char *file = cfg_find(path);
    struct cfg *c = cfg_load(file, why, sizeof(why));
    if (!c) {
        fprintf(stderr, "%s: configuration error: %s\n", prog, why);
        exit(2);
    }
    enum log_level lvl = LOG_INFO;
    log_level_parse(c->log_level, &lvl);
    log_init(prog, lvl);
    log_debug("event=config file=%s", file ? file : "(none: defaults and environment)");
    return c;
}

struct db *app_db(const struct cfg *c, bool migrate)
{
    char why[512];
    struct db *d = db_open(c->db_conninfo, c->db_connect_retries, why, sizeof(why));
    if (!d) {
        log_error("event=start_failed reason=\"%s\"", why);
        exit(1);
    }
    if (migrate) {
        int applied = 0;
        if (migrate_apply(d->conn, &applied, why, sizeof(why)) < 0) {
            log_error("event=start_failed reason=\"%s\"", why);
            db_close(d);
            exit(1);
        }
        if (applied)
            log_info("event=migrations applied=%d", applied);
    }
    return d;
}
