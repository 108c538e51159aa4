/* expo.c: Expo's push API over one kept-alive libcurl handle. */
#include "wire/expo.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"

/* The largest response read: 100 tickets or 1000 receipts are far less. */
#define EXPO_BODY_MAX (8u << 20)

struct expo {
    CURL *curl;
    char *base;
    struct curl_slist *headers;
};

struct expo_buf {
    char *p;
    size_t len, cap;
    bool too_big;
};

static size_t expo_write(char *p, size_t size, size_t n, void *ud)
{
    struct expo_buf *b = ud;
    size_t add = size * n;
    if (b->len + add + 1 > EXPO_BODY_MAX) {
        b->too_big = true;
        return 0;
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return 0;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

struct expo *expo_new(const char *base_url, const char *access_token, long timeout_s)
{
    /* reference-counted by libcurl; expo_free releases it */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    struct expo *x = calloc(1, sizeof(*x));
    if (!x) {
        curl_global_cleanup();
        return NULL;
    }
    x->curl = curl_easy_init();
    x->base = strdup(base_url);
    size_t bl = x->base ? strlen(x->base) : 0;
    while (bl > 0 && x->base[bl - 1] == '/')
        x->base[--bl] = '\0';
    if (!x->curl || !x->base) {
        expo_free(x);
        return NULL;
    }
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");    /* no 100-continue round trip */
    if (access_token && *access_token) {
        size_t n = strlen(access_token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", access_token);
            h = curl_slist_append(h, line);
            free(line);
        }
    }
    x->headers = h;
    CURL *c = x->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s > 0 && timeout_s < 10 ? timeout_s : 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, expo_write);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "chat-cron/" CHAT_VERSION);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    return x;
}

void expo_free(struct expo *x)
{
    if (!x)
        return;
    if (x->curl)
        curl_easy_cleanup(x->curl);
    curl_slist_free_all(x->headers);
    free(x->base);
    free(x);
    curl_global_cleanup();
}

/* "code: message" of the first entry of Expo's errors array, when the body
 * has one. */
static void expo_errors_why(const char *body, size_t len, char *why, size_t whylen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return;
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    json_tokener_free(tok);
    json_object *errs, *first, *code, *msg;
    if (root && json_object_object_get_ex(root, "errors", &errs) &&
        json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
        (first = json_object_array_get_idx(errs, 0)) && json_object_is_type(first, json_type_object)) {
        const char *c = json_object_object_get_ex(first, "code", &code)
                            ? json_object_get_string(code) : "";
        const char *m = json_object_object_get_ex(first, "message", &msg)
                            ? json_object_get_string(msg) : "";
        snprintf(why, whylen, "%s: %s", c ? c : "", m ? m : "");
    }
    json_object_put(root);
}

int expo_post(struct expo *x, struct arena *a, const char *path, const char *body, size_t len,
              struct expo_reply *out)
{
    memset(out, 0, sizeof(*out));
    out->body = "";
    char *url = arena_printf(a, "%s%s", x->base, path);
    struct expo_buf b = { 0 };
    CURL *c = x->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (b.p) {
        out->body = arena_strndup(a, b.p, b.len);
        out->len = b.len;
        free(b.p);
    }
    if (rc != CURLE_OK) {
        snprintf(out->why, sizeof(out->why), "%.60s%s%.180s", curl_easy_strerror(rc),
                 errbuf[0] ? ": " : "", errbuf);
        if (b.too_big)
            snprintf(out->why, sizeof(out->why), "response larger than %u bytes", EXPO_BODY_MAX);
        out->status = 0;
        out->body = "";
        out->len = 0;
        return 0;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_off_t ra = 0;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        out->retry_after_s = ra > 86400 ? 86400 : (long)ra;
    if (out->status != 200) {
        snprintf(out->why, sizeof(out->why), "HTTP %ld", out->status);
        expo_errors_why(out->body, out->len, out->why, sizeof(out->why));
    }
    return 0;
}

enum expo_class expo_classify(const struct expo_reply *r)
{
    if (r->status == 200)
        return EXPO_OK;
    if (r->status == 400 || r->status == 413)
        return EXPO_REJECTED;
    /* 0 (network), 429, 5xx; 401/403 (access token) and 404 (expo_url)
     * are configuration an operator can fix: keep the rows meanwhile. */
    return EXPO_RETRY;
}

/* Parses body as JSON owned by the arena, and returns its "data" member. */
static json_object *expo_data(struct arena *a, const char *body, size_t len, char *why,
                              size_t whylen)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    bool complete = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!root || !complete) {
        json_object_put(root);
        snprintf(why, whylen, "response is not JSON");
        return NULL;
    }
    jsonx_own(a, root);
    json_object *data;
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "data", &data)) {
        snprintf(why, whylen, "response has no data");
        return NULL;
    }
    return data;
}

/* A string member or NULL. */
static const char *expo_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Reads status, message and details.error of a ticket or receipt. */
static int expo_status(json_object *o, bool *ok, const char **error, const char **message)
{
    if (!json_object_is_type(o, json_type_object))
        return -1;
    const char *st = expo_str(o, "status");
    if (!st || (strcmp(st, "ok") != 0 && strcmp(st, "error") != 0))
        return -1;
    *ok = strcmp(st, "ok") == 0;
    *message = expo_str(o, "message");
    json_object *det;
    *error = NULL;
    if (json_object_object_get_ex(o, "details", &det) && json_object_is_type(det, json_type_object))
        *error = expo_str(det, "error");
    return 0;
}

int expo_parse_tickets(struct arena *a, const char *body, size_t len, size_t n,
                       struct expo_ticket *out, char *why, size_t whylen)
{
    json_object *data = expo_data(a, body, len, why, whylen);
    if (!data)
        return -1;
    /* a single message may be answered with a single ticket object */
    bool single = json_object_is_type(data, json_type_object);
    if (!single && !json_object_is_type(data, json_type_array)) {
        snprintf(why, whylen, "data is neither an array nor a ticket");
        return -1;
    }
    size_t got = single ? 1 : json_object_array_length(data);
    if (got != n) {
        snprintf(why, whylen, "%zu tickets for %zu messages", got, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *t = single ? data : json_object_array_get_idx(data, i);
        struct expo_ticket *k = &out[i];
        memset(k, 0, sizeof(*k));
        if (expo_status(t, &k->ok, &k->error, &k->message) < 0) {
            snprintf(why, whylen, "ticket %zu has no valid status", i);
            return -1;
        }
        if (k->ok) {
            k->id = expo_str(t, "id");
            if (!k->id || !*k->id) {
                snprintf(why, whylen, "ok ticket %zu has no id", i);
                return -1;
            }
        }
    }
    return 0;
}

int expo_parse_receipts(struct arena *a, const char *body, size_t len, struct expo_receipt *rs,
                        size_t n, char *why, size_t whylen)
{
    json_object *data = expo_data(a, body, len, why, whylen);
    if (!data)
        return -1;
    if (!json_object_is_type(data, json_type_object)) {
        snprintf(why, whylen, "data is not an object");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct expo_receipt *r = &rs[i];
        r->found = r->ok = false;
        r->error = r->message = NULL;
        json_object *o;
        if (!r->id || !json_object_object_get_ex(data, r->id, &o))
            continue;
        if (expo_status(o, &r->ok, &r->error, &r->message) < 0)
            continue;   /* an unreadable receipt counts as none yet */
        r->found = true;
    }
    return 0;
}
