/* main.c: chat-cron, the operator's tool: one program, a table of
 * subcommands run by hand, cron or systemd timers. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "cron.h"
#include "core/log.h"
#include "core/migrate.h"
#include "metrics.h"
#include "prune.h"
#include "wire/token.h"

struct command {
    const char *name;
    int (*fn)(struct cfg *c, int argc, char **argv);
    const char *help;
};

static int cmd_help(struct cfg *c, int argc, char **argv);

static int cmd_migrate(struct cfg *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct db *d = app_db(c, true);
    char cur[128] = "";
    migrate_current(d->conn, cur, sizeof(cur));
    printf("schema at %s\n", cur[0] ? cur : "(empty)");
    db_close(d);
    return 0;
}

static int cmd_config_check(struct cfg *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char why[512];
    struct token_keys *k = token_keys_load(c, why, sizeof(why));
    if (!k) {
        fprintf(stderr, "chat-cron: configuration error: %s\n", why);
        return 2;
    }
    token_keys_free(k);
    printf("configuration ok\n");
    return 0;
}

/* Adds "key": value to o when value is given. */
static void add_str(json_object *o, const char *key, const char *value)
{
    if (value)
        json_object_object_add(o, key, json_object_new_string(value));
}

static int cmd_token(struct cfg *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "id-erp", required_argument, NULL, 'i' },
        { "nombre", required_argument, NULL, 'n' },
        { "email", required_argument, NULL, 'e' },
        { "imagen", required_argument, NULL, 'm' },
        { "puesto", required_argument, NULL, 'p' },
        { "departamento", required_argument, NULL, 'd' },
        { "permisos", required_argument, NULL, 'P' },
        { "scope", required_argument, NULL, 's' },
        { "ttl", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    const char *id = NULL, *nombre = NULL, *email = NULL, *imagen = NULL, *puesto = NULL,
               *depto = NULL, *permisos = NULL, *scope = NULL;
    long ttl = 3600;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': id = optarg; break;
        case 'n': nombre = optarg; break;
        case 'e': email = optarg; break;
        case 'm': imagen = optarg; break;
        case 'p': puesto = optarg; break;
        case 'd': depto = optarg; break;
        case 'P': permisos = optarg; break;
        case 's': scope = optarg; break;
        case 't': {
            char *end;
            ttl = strtol(optarg, &end, 10);
            if (*end || ttl <= 0 || ttl > 10L * 365 * 86400) {
                fprintf(stderr, "chat-cron token: --ttl must be seconds (1..315360000)\n");
                return 2;
            }
            break;
        }
        default:
            return 2;
        }
    }
    if (!id && !scope) {
        fprintf(stderr, "usage: chat-cron token --id-erp ID [--nombre N] [--email E] "
                        "[--puesto P] [--departamento D] [--imagen URL] [--permisos 565,567] "
                        "[--scope chat:interno] [--ttl SECONDS]\n");
        return 2;
    }
    json_object *o = json_object_new_object();
    add_str(o, c->jwt_claim_id, id);
    add_str(o, c->jwt_claim_nombre, nombre ? nombre : id);
    add_str(o, c->jwt_claim_email, email);
    add_str(o, c->jwt_claim_imagen, imagen);
    add_str(o, c->jwt_claim_puesto, puesto);
    add_str(o, c->jwt_claim_departamento, depto);
    add_str(o, c->jwt_claim_scope, scope);
    json_object *perms = json_object_new_array();
    if (permisos) {
        char *copy = strdup(permisos), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *end;
            long v = strtol(t, &end, 10);
            if (*end || v <= 0 || v > 1000000) {
                fprintf(stderr, "chat-cron token: --permisos must be integers: %s\n", t);
                free(copy);
                json_object_put(perms);
                json_object_put(o);
                return 2;
            }
            json_object_array_add(perms, json_object_new_int((int)v));
        }
        free(copy);
    }
    json_object_object_add(o, c->jwt_claim_permisos, perms);
    char why[512];
    char *tok = token_mint(c, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), ttl,
                           why, sizeof(why));
    json_object_put(o);
    if (!tok) {
        fprintf(stderr, "chat-cron token: %s\n", why);
        return 1;
    }
    printf("%s\n", tok);
    free(tok);
    return 0;
}

/* Sorted by name; `help` prints it. */
static const struct command commands[] = {
    { "config-check", cmd_config_check, "load and validate the configuration, then exit" },
    { "digest", cron_digest,
      "e-mail each user a digest of chats unread past the delay (--loop SECONDS)" },
    { "help", cmd_help, "list the subcommands" },
    { "metrics", cron_metrics,
      "Prometheus text of the push queue, eventos and chat-cron's counters (--out FILE)" },
    { "migrate", cmd_migrate, "apply pending database migrations" },
    { "prune", cron_prune, "remove media files and eventos rows past their retention" },
    { "push", cron_push, "send the push queue to Expo (--loop SECONDS: repeat until SIGTERM)" },
    { "receipts", cron_receipts,
      "check Expo receipts of sent pushes (--loop SECONDS, --min-age SECONDS: default 900)" },
    { "token", cmd_token, "mint a development JWT (--id-erp, --nombre, --permisos, --scope, --ttl)" },
    { NULL, NULL, NULL },
};

static int cmd_help(struct cfg *c, int argc, char **argv)
{
    (void)c;
    (void)argc;
    (void)argv;
    printf("usage: chat-cron [--config FILE] COMMAND [OPTIONS]\n\ncommands:\n");
    for (const struct command *k = commands; k->name; k++)
        printf("  %-14s %s\n", k->name, k->help);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        /* help needs no configuration */
        return cmd_help(NULL, 0, NULL);
    }
    struct cfg *c = app_config("chat-cron", &argc, argv);
    int ret = 2;
    if (argc < 2) {
        cmd_help(c, 0, NULL);
        goto cleanup;
    }
    const struct command *k = commands;
    while (k->name && strcmp(k->name, argv[1]) != 0)
        k++;
    if (!k->name) {
        fprintf(stderr, "chat-cron: unknown command %s (try: chat-cron help)\n", argv[1]);
        goto cleanup;
    }
    ret = k->fn(c, argc - 1, argv + 1);
cleanup:
    cfg_free(c);
    return ret;
}
