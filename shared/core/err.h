/* err.h: API.md's error codes, with the HTTP status each one maps to. */
#ifndef CHAT_ERR_H
#define CHAT_ERR_H

enum err_code {
    ERR_NONE = 0,
    ERR_INVALID,        /* 400 solicitud_invalida */
    ERR_TOKEN,          /* 401 token_invalido */
    ERR_DEACTIVATED,    /* 403 usuario_desactivado */
    ERR_FORBIDDEN,      /* 403 prohibido */
    ERR_NOT_FOUND,      /* 404 no_encontrado */
    ERR_CONFLICT,       /* 409 conflicto */
    ERR_TOO_BIG,        /* 413 demasiado_grande */
    ERR_MEDIA_TYPE,     /* 415 tipo_no_permitido */
    ERR_RATE,           /* 429 limite_excedido */
    ERR_INTERNAL,       /* 500 error_interno */
    ERR_UNAVAILABLE,    /* 503 error_interno (database unreachable) */
    ERR_ORIGIN,         /* 403 origen_no_permitido */
    ERR__COUNT
};

/* An error a domain function reports one level up: the code and a message
 * safe to show to the caller (never SQL or internals). */
struct err {
    enum err_code code;
    char msg[240];
};

/* Sets e (which may be NULL) and returns -1, so callers can write
 * `return err_set(e, ERR_INVALID, "...")`. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* HTTP status for code. */
int err_status(enum err_code code);

/* API.md's `codigo` for code ("solicitud_invalida", ...). */
const char *err_codigo(enum err_code code);

/* A default Spanish message for code, used when none was given. */
const char *err_default_msg(enum err_code code);

#endif
