/* sio.h: the text of Engine.IO 4 / Socket.IO 5 packets over the websocket
 * transport: parsing what a client sends, pure (no sockets, no state). */
#ifndef CHAT_SIO_H
#define CHAT_SIO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Engine.IO packet types (the first character of a frame). */
enum sio_eio {
    SIO_EIO_OPEN = '0',
    SIO_EIO_CLOSE = '1',
    SIO_EIO_PING = '2',
    SIO_EIO_PONG = '3',
    SIO_EIO_MESSAGE = '4',
    SIO_EIO_UPGRADE = '5',
    SIO_EIO_NOOP = '6',
};

/* Socket.IO packet types (the digit after an Engine.IO '4'). */
enum sio_type {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
};

/* Longest acknowledgement id accepted (digits); socket.io-client counts
 * from 0 upwards, so anything longer is garbage. */
#define SIO_ACK_MAX_DIGITS 15

/* One parsed frame. Pointers are into the caller's buffer. */
struct sio_packet {
    char eio;               /* an enum sio_eio */
    int type;               /* enum sio_type when eio is '4', else -1 */
    const char *nsp;        /* namespace ("/" when absent) */
    size_t nsp_len;
    long long ack;          /* acknowledgement id, -1 when none */
    const char *data;       /* what follows: JSON for Socket.IO, the
                             * payload of a ping/pong ("probe"), or "" */
    size_t data_len;
};

/* Parses one text frame of len bytes. Returns 0 and fills out, or -1 with
 * *why (a static string) for a frame no client may send: empty, unknown
 * Engine.IO or Socket.IO type, binary attachments, a namespace without its
 * comma, an ack id too long, or Socket.IO data that does not start with
 * '[' or '{'. The JSON itself is checked by sio_event_parse and
 * sio_connect_parse. */
int sio_parse(const char *buf, size_t len, struct sio_packet *out, const char **why);

/* True when the namespace of p is the main one ("/"). */
bool sio_nsp_main(const struct sio_packet *p);

/* Parses the data of an EVENT: a JSON array whose first element is a
 * string. Returns 0 with *name (borrowed from *arr) and *arg (the second
 * element, borrowed, NULL when absent), and *arr which the caller releases
 * with json_object_put; or -1 with *why. Nesting is limited to 32 levels. */
int sio_event_parse(const char *data, size_t len, json_object **arr, const char **name,
                    json_object **arg, const char **why);

/* Parses the data of a CONNECT: empty, or a JSON object. Returns 0 with
 * *token set to a copy of auth.token (malloc'd, free it) or NULL when the
 * object has none; or -1 with *why when the data is not an object. */
int sio_connect_parse(const char *data, size_t len, char **token, const char **why);

#endif
