/* prune.h: `chat-cron prune`, the retention clean-up (cron/prune.c). */
#ifndef CHAT_CRON_PRUNE_H
#define CHAT_CRON_PRUNE_H

#include "core/cfg.h"

/* `chat-cron prune`: removes the files of media discarded, or hidden (their
 * message, announcement or chat deleted) or never attached for more than
 * media_retention_days, marking them purged_at; removes upload temporary
 * files older than a day; deletes eventos rows older than
 * eventos_retention_days. One run at a time (an advisory lock: a second
 * one exits 0 at once). Prints what it removed. Exit code 0, or 1 on a
 * failure (what was done stays done; the next run carries on). */
int cron_prune(struct cfg *c, int argc, char **argv);

#endif
