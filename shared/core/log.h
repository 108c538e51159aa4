/* log.h: one line per event, key=value, to stderr. */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the program name printed on each line and the lowest level written.
 * Called once at start. */
void log_init(const char *prog, enum log_level min);

/* Parses "debug|info|warn|error"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* Writes one line: "<time> <prog>[pid] <level> <message>". Newlines in the
 * message are replaced so a line is always one event. */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
