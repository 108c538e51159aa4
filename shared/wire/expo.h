/* expo.h: a client of Expo's push API over libcurl: POST a batch of
 * messages to {expo_url}/--/api/v2/push/send and read its tickets; POST
 * ticket ids to .../getReceipts and read the receipts. One connection,
 * kept alive between requests. */
#ifndef CHAT_EXPO_H
#define CHAT_EXPO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

/* Expo's documented request limits. */
#define EXPO_SEND_MAX 100
#define EXPO_RECEIPTS_MAX 1000

#define EXPO_PATH_SEND "/--/api/v2/push/send"
#define EXPO_PATH_RECEIPTS "/--/api/v2/push/getReceipts"

struct expo;

/* What one HTTP exchange gave. */
struct expo_reply {
    long status;            /* HTTP status; 0 when no response came (network error) */
    long retry_after_s;     /* the Retry-After header in seconds, 0 when none */
    const char *body;       /* the response body (decompressed), in the arena; "" when none */
    size_t len;
    char why[256];          /* for the log: the network error, or Expo's errors[0] */
};

/* How to treat a reply as a whole. */
enum expo_class {
    EXPO_OK,                /* 200: read the tickets / receipts */
    EXPO_RETRY,             /* network error, 429, 5xx, and 4xx other than below: try later */
    EXPO_REJECTED,          /* 400 or 413: the request itself is wrong; as is, it never passes */
};

/* A client for base_url (http:// or https://, no trailing path), with
 * access_token sent as "Authorization: Bearer" when not empty, each request
 * bounded by timeout_s seconds. Returns NULL when libcurl cannot start.
 * Free with expo_free (NULL accepted). */
struct expo *expo_new(const char *base_url, const char *access_token, long timeout_s);
void expo_free(struct expo *x);

/* POSTs the JSON text body (len bytes) to base_url + path with Expo's
 * headers (Accept and Content-Type application/json, Accept-Encoding gzip,
 * deflate). Fills *out (strings in the arena); a network error is a reply
 * with status 0, not a failure. Returns 0, or -1 when the request could
 * not even be built. */
int expo_post(struct expo *x, struct arena *a, const char *path, const char *body, size_t len,
              struct expo_reply *out);

/* Sorts a reply: EXPO_OK, EXPO_RETRY or EXPO_REJECTED (see the enum). */
enum expo_class expo_classify(const struct expo_reply *r);

/* One push ticket. */
struct expo_ticket {
    bool ok;                /* status "ok" */
    const char *id;         /* the receipt id (ok) */
    const char *error;      /* details.error ("DeviceNotRegistered", ...), NULL when none */
    const char *message;    /* Expo's message (error), NULL when none */
};

/* Parses a push/send response body holding exactly n tickets (its data
 * array, in the order of the messages sent) into out[0..n). Strings live
 * in the arena. Returns 0, or -1 with why when the body is not that (not
 * JSON, no data, another count, a ticket without status or an ok ticket
 * without id). */
int expo_parse_tickets(struct arena *a, const char *body, size_t len, size_t n,
                       struct expo_ticket *out, char *why, size_t whylen);

/* One push receipt, for a ticket id asked for. */
struct expo_receipt {
    const char *id;         /* the ticket id (input) */
    bool found;             /* Expo had a receipt for it (else: not yet, or gone) */
    bool ok;                /* status "ok" */
    const char *error;      /* details.error, NULL when none */
    const char *message;    /* Expo's message, NULL when none */
};

/* Parses a getReceipts response body (its data object) into rs[0..n),
 * whose id fields the caller set: each is found or not. Strings live in
 * the arena. Returns 0, or -1 with why when the body is not that shape. */
int expo_parse_receipts(struct arena *a, const char *body, size_t len, struct expo_receipt *rs,
                        size_t n, char *why, size_t whylen);

#endif
