/* err.c: the table of API.md error codes. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int status;
    const char *codigo;
    const char *msg;
} err_table[ERR__COUNT] = {
    [ERR_NONE]        = { 200, "ok", "ok" },
    [ERR_INVALID]     = { 400, "solicitud_invalida", "Solicitud inválida" },
    [ERR_TOKEN]       = { 401, "token_invalido", "Token inválido o ausente" },
    [ERR_DEACTIVATED] = { 403, "usuario_desactivado", "El usuario está desactivado" },
    [ERR_FORBIDDEN]   = { 403, "prohibido", "No tiene permiso para esta acción" },
    [ERR_NOT_FOUND]   = { 404, "no_encontrado", "No encontrado" },
    [ERR_CONFLICT]    = { 409, "conflicto", "Conflicto con el estado actual" },
    [ERR_TOO_BIG]     = { 413, "demasiado_grande", "La solicitud es demasiado grande" },
    [ERR_MEDIA_TYPE]  = { 415, "tipo_no_permitido", "Tipo de archivo no permitido" },
    [ERR_RATE]        = { 429, "limite_excedido", "Demasiadas solicitudes" },
    [ERR_INTERNAL]    = { 500, "error_interno", "Error interno" },
    [ERR_UNAVAILABLE] = { 503, "error_interno", "Servicio no disponible" },
    [ERR_ORIGIN]      = { 403, "origen_no_permitido", "Origen no permitido para una sesión por cookie" },
};

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->code = code;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
    } else {
        snprintf(e->msg, sizeof(e->msg), "%s", err_default_msg(code));
    }
    return -1;
}

int err_status(enum err_code code)
{
    return (unsigned)code < ERR__COUNT ? err_table[code].status : 500;
}

const char *err_codigo(enum err_code code)
{
    return (unsigned)code < ERR__COUNT ? err_table[code].codigo : "error_interno";
}

const char *err_default_msg(enum err_code code)
{
    return (unsigned)code < ERR__COUNT ? err_table[code].msg : "Error interno";
}
