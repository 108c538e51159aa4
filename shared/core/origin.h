/* origin.h: the Origin rule for requests authenticated by a cookie: a
 * state-changing request (or a WebSocket upgrade) must come from the
 * request's own origin or from one configured in origenes_permitidos.
 * Pure functions on header values; no allocation, no globals. */
#ifndef CHAT_ORIGIN_H
#define CHAT_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

/* Longest origin handled ("scheme://host:port"); longer ones are refused. */
#define ORIGIN_MAX 256

/* Normalises the serialised origin s[0..len) ("https://Erp.Example:443")
 * into out: lower case, the scheme's default port (80 for http, 443 for
 * https) dropped. Only http and https, a non-empty host of letters, digits,
 * '.', '-', '_' or a bracketed IPv6 literal, and a port of 1..65535.
 * A path, query, user info or anything else makes it -1. out must hold
 * ORIGIN_MAX bytes. Returns 0 or -1. */
int origin_normalize(const char *s, size_t len, char *out);

/* The origin of an absolute http(s) URL (a Referer), normalised into out
 * (ORIGIN_MAX bytes). Returns 0 or -1. */
int origin_of_url(const char *url, char *out);

/* The request's own origin from the CGI-style parts: scheme ("http" or
 * "https"; NULL or "" means http), the Host header, and the server port
 * (may be NULL), used when Host carries none: Debian's nginx passes
 * HTTP_HOST as $host, without the port. Returns 0 or -1 (no or a
 * malformed Host). */
int origin_own(const char *scheme, const char *host, const char *port, char *out);

/* Checks a configured list (origins separated by commas and/or spaces;
 * "" is an empty list). Returns 0, or -1 with the offending entry named in
 * why. */
int origin_list_check(const char *list, char *why, size_t whylen);

/* Whether the normalised origin o is own (may be NULL) or in list. */
bool origin_in(const char *o, const char *own, const char *list);

/* The rule itself. origin, sec_fetch_site and referer are the request's
 * headers (NULL when absent); own its own origin (NULL when unknown).
 * Origin decides when present ("null" never matches); else
 * Sec-Fetch-Site decides when present (only "same-origin" passes); else
 * the Referer's origin; a request with none of them is refused. */
bool origin_request_allowed(const char *origin, const char *sec_fetch_site,
                            const char *referer, const char *own, const char *list);

#endif
