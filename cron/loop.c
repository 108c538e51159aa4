/* loop.c: one pass, or a pass every N seconds until SIGTERM/SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "core/log.h"

/* The only mutable global: the stop flag set by the signal handler. */
static volatile sig_atomic_t cron_stop;

static void cron_on_signal(int sig)
{
    (void)sig;
    cron_stop = 1;
}

bool cron_stopping(void)
{
    return cron_stop != 0;
}

int cron_parse_seconds(const char *cmd, const char *opt, const char *s, long min, long max,
                       long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "chat-cron %s: %s must be whole seconds (%ld..%ld), not '%s'\n", cmd, opt,
                min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Sleeps up to s seconds; a signal ends the sleep early. */
static void cron_sleep(long s)
{
    struct timespec end, now;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += s;
    while (!cron_stop) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        struct timespec left = { end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec };
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        nanosleep(&left, NULL);   /* EINTR on a signal: the loop checks the flag */
    }
}

int cron_run(const char *name, long loop_s, int (*pass)(void *ud), void *ud)
{
    /* Also for a single pass: it stops between requests instead of dying
     * mid-batch (whose rows would wait for their lease to expire). No
     * SA_RESTART: a signal cuts the sleep short. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cron_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (loop_s <= 0)
        return pass(ud) < 0 ? 1 : 0;
    log_info("event=loop_start cmd=%s every_s=%ld", name, loop_s);
    while (!cron_stop) {
        if (pass(ud) < 0)
            log_warn("event=pass_failed cmd=%s retry_in_s=%ld", name, loop_s);
        cron_sleep(loop_s);
    }
    log_info("event=loop_stop cmd=%s", name);
    return 0;
}
