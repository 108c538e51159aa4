/* app.h: what every program does at start: config, logging, database,
 * migrations; each failure stops the program with a clear message. */
#ifndef CHAT_APP_H
#define CHAT_APP_H

#include <stdbool.h>

#include "core/cfg.h"
#include "core/db.h"

/* Takes "--config FILE" out of argv (adjusting *argc), finds and loads the
 * config (cfg_find), validates it, and sets up logging as prog. On failure
 * prints "prog: <reason naming the key>" to stderr and exits 2. */
struct cfg *app_config(const char *prog, int *argc, char **argv);

/* Connects to the database (retrying db_connect_retries times) and, when
 * migrate is true, applies the pending migrations. On failure logs the
 * reason and exits 1. */
struct db *app_db(const struct cfg *c, bool migrate);

#endif
