/* cron.h: chat-cron's subcommands that live outside main.c, and the
 * one-pass-or-loop runner they share. */
#ifndef CHAT_CRON_H
#define CHAT_CRON_H

#include <stdbool.h>

#include "core/cfg.h"

/* `chat-cron push [--loop SECONDS]`: sends the push queue (cron/push.c). */
int cron_push(struct cfg *c, int argc, char **argv);

/* `chat-cron receipts [--loop SECONDS] [--min-age SECONDS]`: checks the
 * receipts of sent pushes (cron/receipts.c). */
int cron_receipts(struct cfg *c, int argc, char **argv);

/* `chat-cron digest [--loop SECONDS]`: composes the unread e-mail digests
 * that are due and sends them over SMTP (cron/digest.c); does nothing
 * while smtp_url is empty. */
int cron_digest(struct cfg *c, int argc, char **argv);

/* Runs pass(ud) once when loop_s is 0; else again loop_s seconds after
 * each pass ends, until SIGTERM or SIGINT (a pass in progress finishes
 * first). Returns the exit code: 0, or 1 when the single pass failed
 * (pass returned < 0). In a loop a failed pass is only logged. */
int cron_run(const char *name, long loop_s, int (*pass)(void *ud), void *ud);

/* True once SIGTERM or SIGINT arrived during cron_run: a long pass checks
 * it between requests and ends early. */
bool cron_stopping(void);

/* Parses a whole number of seconds in [min, max] for option opt; prints
 * the error and returns -1 when it is not one. */
int cron_parse_seconds(const char *cmd, const char *opt, const char *s, long min, long max,
                       long *out);

#endif
